"""Issue 14, item 5: the one full-match helper every format check goes through
(components/catalog/patterns.py) refuses line breaks, NULs and non-ASCII look-alikes in every pattern."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.catalog import patterns
from components.catalog.patterns import Pattern

ALL_PATTERNS = [(name, p) for name, p in vars(patterns).items() if isinstance(p, Pattern)]
EXAMPLES = {
    "DNS1123_LABEL": "ml-dev",
    "DNS1123_SUBDOMAIN": "a.b-c",
    "QUALIFIED_NAME": "example.com/name",
    "LABEL_VALUE": "v1.2",
    "CONFIG_MAP_KEY": "max_num_seqs",
    "REPOSITORY": "127.0.0.1:5000/modelstack/base",
    "DIGEST": "sha256:" + "a" * 64,
    "DIGEST_REF": "r.example.com/a/b@sha256:" + "a" * 64,
    "REPOSITORY_PATH": "modelstack/llm",
    "ENV_NAME": "HF_HOME",
    "DURATION": "1h30m",
    "QUANTITY": "16Gi",
    "MIG_PROFILE": "3g.40gb",
    "URL_PATH": "/v2/health/ready",
    "CONTAINER_PATH": "/models",
    "FILE_PATH": "models.yaml",
    "RELATIVE_PATH": "examples/model-server",
    "REGISTRY": "127.0.0.1:5000",
    "HOST": "chat.models.example.com",
    "NAMESPACED_NAME": "istio-ingress/istio-ingressgateway",
    "STACK_NAME": "prod",
    "PROMETHEUS_URL": "http://prometheus-operated.monitoring.svc:9090",
}


def test_every_shared_pattern_has_an_example() -> None:
    assert sorted(name for name, _ in ALL_PATTERNS) == sorted(EXAMPLES)


@pytest.mark.parametrize(("name", "pattern"), ALL_PATTERNS, ids=[n for n, _ in ALL_PATTERNS])
def test_a_pattern_accepts_its_example_and_refuses_it_with_a_line_break(name: str, pattern: Pattern) -> None:
    example = EXAMPLES[name]
    assert pattern.matches(example)
    for suffix in ("\n", "\r", "\r\n", "\x00"):
        assert not pattern.matches(example + suffix)
        assert not pattern.matches(suffix + example)


@given(st.sampled_from(ALL_PATTERNS), st.text(min_size=1, max_size=3).filter(lambda t: not t.isascii()))
def test_no_pattern_accepts_a_non_ascii_character(named: tuple[str, Pattern], extra: str) -> None:
    name, pattern = named
    if name in ("FILE_PATH", "RELATIVE_PATH"):  # file names may be in any script
        return
    example = EXAMPLES[name]
    for at in (0, len(example) // 2, len(example)):
        assert not pattern.matches(example[:at] + extra + example[at:])
