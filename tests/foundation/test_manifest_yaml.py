"""The manifest writer spells every document byte for byte as PyYAML does, and takes its fast path for
the common objects (otherwise it would only be PyYAML with extra steps)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelstack.engine import manifest_yaml
from modelstack.engine.render import Render

# Strings built to hit every rule of plain versus quoted style: indicators first and inside, ": " and
# " #", YAML 1.1 booleans/nulls/numbers/timestamps, document markers, quotes, spaces at the ends, long
# lines that PyYAML folds, and text that is not printable ASCII.
TRICKY = [
    "",
    " ",
    "a b",
    " a",
    "a ",
    "-",
    "- a",
    "-a",
    "--model",
    "?",
    "? a",
    ":",
    ":a",
    "a:",
    "a: b",
    "a:b",
    "#",
    "a #b",
    "a#b",
    "&a",
    "*a",
    "!a",
    "|",
    ">",
    "'",
    '"',
    "%",
    "@",
    "`",
    "[a]",
    "{a}",
    "a,b",
    "a]",
    "---",
    "...",
    "--- a",
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "False",
    "null",
    "~",
    "=",
    "<<",
    "0",
    "1",
    "-1",
    "+1",
    "0x1f",
    "0o17",
    "017",
    "1_000",
    "1:30",
    "1.5",
    ".5",
    "1e3",
    "1.0e+3",
    ".inf",
    "-.Inf",
    ".nan",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "y",
    "n",
    "500m",
    "64Gi",
    "it's",
    "a''b",
    "a\tb",
    "a\nb",
    "a\n",
    "é",
    "ünïcode",
    "\u2028",
    "\x85",
    "a\\b",
    "{{ $labels.pod }}: high",
    "app.kubernetes.io/name",
    "sha256:abc",
    "registry/x@sha256:" + "a" * 64,
    "x" * 130,
    " ".join(["word"] * 40),
    "'" + "quoted text " * 12,
    "a  b  " * 25 + "c",
]

PRINTABLE_ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
ASCII_TRICKY = [t for t in TRICKY if t.isascii() and t.isprintable()]
ascii_keys = st.one_of(st.sampled_from(ASCII_TRICKY), st.text(PRINTABLE_ASCII, max_size=12))
any_keys = st.one_of(ascii_keys, st.sampled_from(TRICKY), st.text(max_size=12))
# Lines past PyYAML's width that it folds at lone spaces: words of every length, runs of spaces, quotes.
long_lines = st.lists(
    st.one_of(st.text(alphabet="abc:#-'{}", min_size=1, max_size=30), st.sampled_from(["", " ", "  "])),
    min_size=10,
    max_size=60,
).map(" ".join)
# What the fast path spells itself: printable ASCII, integers, booleans, null.
fast_scalars = st.one_of(
    st.sampled_from(ASCII_TRICKY),
    st.text(PRINTABLE_ASCII, max_size=40),
    st.text(alphabet="ab :#-'\"{}", max_size=20),
    st.text(alphabet="ab :#-'", min_size=100, max_size=300),
    long_lines,
    st.integers(-(2**40), 2**40),
    st.booleans(),
    st.none(),
)
# ...and what it must hand to PyYAML: other text, floats.
any_scalars = st.one_of(
    fast_scalars,
    st.sampled_from(TRICKY),
    st.text(max_size=40),
    st.floats(allow_nan=False),
)


def documents_of(
    keys: st.SearchStrategy[str], scalars: st.SearchStrategy[Any]
) -> st.SearchStrategy[dict[str, Any]]:
    trees = st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)
        ),
        max_leaves=40,
    )
    return st.dictionaries(keys, trees, min_size=1, max_size=6)


@settings(max_examples=400, deadline=None)
@given(documents_of(ascii_keys, fast_scalars))
def test_generated_ascii_documents_are_written_exactly_as_pyyaml_writes_them(
    document: dict[str, Any],
) -> None:
    assert manifest_yaml.dump(document) == manifest_yaml.pyyaml_dump(document)


@settings(max_examples=200, deadline=None)
@given(documents_of(any_keys, any_scalars))
def test_any_generated_document_is_written_exactly_as_pyyaml_writes_it(document: dict[str, Any]) -> None:
    assert manifest_yaml.dump(document) == manifest_yaml.pyyaml_dump(document)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_rendered_object_is_written_exactly_as_pyyaml_writes_it(stack: str, render_of: Any) -> None:
    render: Render = render_of(stack)

    for manifest in render.manifests:
        assert manifest_yaml.dump(manifest.body) == manifest_yaml.pyyaml_dump(manifest.body), manifest.key


def _refusing_pyyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(value: Any) -> str:
        raise AssertionError("fell back to PyYAML")

    monkeypatch.setattr(manifest_yaml, "pyyaml_dump", refuse)


def test_workload_objects_take_the_fast_path(dev_render: Render, monkeypatch: pytest.MonkeyPatch) -> None:
    _refusing_pyyaml(monkeypatch)
    common = [
        m for m in dev_render.manifests if m.kind in {"Deployment", "Service", "HorizontalPodAutoscaler"}
    ]

    assert common
    for manifest in common:
        assert manifest_yaml.dump(manifest.body).startswith("apiVersion: ")


def test_objects_with_long_queries_take_the_fast_path(
    dev_render: Render, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The KEDA triggers' and alert rules' PromQL runs past the width: folded here, not by PyYAML."""
    queries = [m for m in dev_render.manifests if m.kind in {"ScaledObject", "PrometheusRule"}]
    texts = {m.key: manifest_yaml.pyyaml_dump(m.body) for m in queries}
    _refusing_pyyaml(monkeypatch)

    assert any(max(map(len, text.splitlines())) > manifest_yaml.WIDTH for text in texts.values())
    for manifest in queries:
        assert manifest_yaml.dump(manifest.body) == texts[manifest.key]


@pytest.mark.parametrize(
    "document",
    [
        {"description": " ".join(["word"] * 40)},
        {"a": {"b": [{"query": "'" + "quoted text " * 12}]}},
        {"runs": "a  b  " * 25 + "c"},
        {"x" * 100: "y " * 80},
    ],
    ids=["plain", "quoted-in-a-sequence", "runs-of-spaces", "long-key"],
)
def test_a_long_line_with_spaces_is_folded_as_pyyaml_folds_it(
    document: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = manifest_yaml.pyyaml_dump(document)
    _refusing_pyyaml(monkeypatch)

    assert manifest_yaml.dump(document) == expected
