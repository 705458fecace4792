"""Issue 14, item 5: a format check matches the whole value — a trailing newline or carriage return, or a
letter from another script that looks the same, never passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SUFFIXES = ("\n", "\r", "\r\n", " ", "\t")
# Cyrillic а/е/о, fullwidth ｍ, Kelvin sign K, Arabic-Indic digit ٣, en dash ‐ (not '-').
LOOK_ALIKES = {"a": "а", "e": "е", "o": "о", "m": "ｍ", "k": "K", "3": "٣", "-": "‐"}


def _json(value: str) -> str:
    """A YAML double-quoted scalar that holds `value` exactly (JSON strings are YAML)."""
    return json.dumps(value)


# (where in models.yaml, the valid text there, how to write a replacement)
FIELDS = {
    "model name": ("  llm-chat:\n", "llm-chat", lambda v: f"  {_json(v)}:\n"),
    "version name": ("      v1:\n        image: registry.ml.example.com/llm", "v1", None),
    "config key": ("          max_num_seqs:", "max_num_seqs", None),
    "env name": ("{name: VLLM_MAX_NUM_SEQS,", "VLLM_MAX_NUM_SEQS", None),
    "digest": (
        "chat-vllm@sha256:617463c1965054fa4390857246a0cfc920baa61a012021f247ea76efca038a4b",
        "registry.ml.example.com/llm/chat-vllm@sha256:617463c1965054fa4390857246a0cfc920baa61a012021f247ea76efca038a4b",
        None,
    ),
}


def _edit(project: Path, field: str, value: str) -> None:
    catalog = project / "models.yaml"
    text = catalog.read_text()
    anchor, valid, _ = FIELDS[field]
    if field == "digest":
        line = next(line for line in text.splitlines() if valid in line)
        text = text.replace(line, line.replace(valid, _json(value)), 1)
    else:
        text = text.replace(anchor, anchor.replace(valid, _json(value), 1), 1)
    catalog.write_text(text)


def _variants(valid: str) -> list[str]:
    out = [valid + s for s in SUFFIXES]
    out += [valid.replace(k, v, 1) for k, v in LOOK_ALIKES.items() if k in valid]
    return out


CASES = [(field, variant) for field, (_, valid, _) in FIELDS.items() for variant in _variants(valid)]


@pytest.mark.parametrize(("field", "value"), CASES, ids=[f"{f}-{v!r}" for f, v in CASES])
def test_a_catalog_value_that_only_nearly_matches_is_refused(
    project: Path, run, field: str, value: str
) -> None:
    _edit(project, field, value)
    result = run("validate", "--stack", "dev")
    assert result.located, (result.code, result.stderr[-300:])


@pytest.mark.parametrize("value", _variants("ml-dev"))
def test_a_namespace_that_only_nearly_matches_is_refused_and_nothing_is_rendered(
    project: Path, run, value: str
) -> None:
    stack = project / "Pulumi.dev.yaml"
    stack.write_text(
        stack.read_text().replace("modelstack:namespace: ml-dev", f"modelstack:namespace: {_json(value)}")
    )
    assert run("validate", "--stack", "dev").located
    result = run("render", "--stack", "dev")
    assert result.located
    assert not (project / "rendered").exists()
