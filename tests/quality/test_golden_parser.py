"""The golden-set parser the catalog rules and the evaluator share (`GoldenSet.parse`), under hypothesis."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from components.quality.golden import GoldenSet, GoldenSetError

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def golden_sets(draw: st.DrawFn) -> dict:
    classes = draw(st.integers(2, 8))
    width = draw(st.integers(1, 6))
    examples = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "input": st.lists(finite, min_size=width, max_size=width),
                    "label": st.integers(0, classes - 1),
                }
            ),
            min_size=1,
            max_size=20,
        )
    )
    return {"model": "m", "input": "input", "classes": classes, "examples": examples}


@given(golden_sets())
def test_a_valid_golden_set_parses_to_its_inputs_and_labels(data: dict) -> None:
    golden = GoldenSet.parse(json.dumps(data), "g.json")

    assert golden.classes == data["classes"]
    assert golden.labels == tuple(e["label"] for e in data["examples"])
    assert golden.inputs == tuple(tuple(float(x) for x in e["input"]) for e in data["examples"])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10) | finite | st.text(max_size=5),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=20,
)
# Near misses: the right keys with values of any shape, so the checks past the first are reached too.
near_misses = st.fixed_dictionaries(
    {
        "classes": json_values,
        "examples": st.lists(st.dictionaries(st.sampled_from(["input", "label"]), json_values), max_size=4),
    }
)


@given(st.text(max_size=200) | json_values.map(json.dumps) | near_misses.map(json.dumps))
def test_any_text_parses_or_is_refused_with_a_golden_set_error_naming_the_file(text: str) -> None:
    try:
        GoldenSet.parse(text, "g.json")
    except GoldenSetError as err:
        assert str(err).startswith("g.json:")
