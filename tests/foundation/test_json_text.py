"""`outputs.json` and the versions lock are written as `json.dumps(value, sort_keys=True, indent=2)`
writes them, byte for byte, by `render_files.json_text`: the json module itself is the oracle."""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelstack.engine.render_files import json_text

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and the infinities included: json spells them its own way
    st.text(),  # non-ASCII, control characters and quotes: escaped as ensure_ascii escapes them
)
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=30,
)


def _reference(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=2) + "\n"


@settings(max_examples=500, deadline=None)
@given(_VALUES)
def test_generated_values_are_written_exactly_as_json_dumps_writes_them(value: Any) -> None:
    assert json_text(value) == _reference(value)


class _Level(IntEnum):
    LOW = 1


@pytest.mark.parametrize(
    "value",
    [
        {1: "a", 2: "b"},
        {"level": _Level.LOW},
        {"a": {"b": [{}, [], {"c": None}]}},
        [float("nan"), float("inf"), -0.0, 1e16, 1e-05],
    ],
    ids=["integer-keys", "int-enum", "empty-containers", "special-floats"],
)
def test_values_json_converts_are_left_to_json(value: Any) -> None:
    assert json_text(value) == _reference(value)


def test_keys_that_do_not_sort_against_each_other_fail_as_json_dumps_fails() -> None:
    with pytest.raises(TypeError):
        _reference({"a": 1, 2: 3})
    with pytest.raises(TypeError):
        json_text({"a": 1, 2: 3})


def test_a_circular_value_fails_as_json_dumps_fails() -> None:
    looped: dict[str, Any] = {}
    looped["self"] = looped
    with pytest.raises(ValueError, match="Circular reference"):
        json_text(looped)
