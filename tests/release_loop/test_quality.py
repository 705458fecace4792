"""The golden-set evaluator: reading the set, scoring outputs, and the series Prometheus scrapes."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.quality.golden import (
    EvaluationError,
    Exporter,
    GoldenSet,
    GoldenSetError,
    Score,
    score,
    softmax_top,
)
from tests.gate.conftest import _install

GOLDEN = Path(__file__).resolve().parents[2] / "examples" / "golden-set" / "golden.json"


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "golden.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_committed_golden_set_is_200_labelled_examples_of_the_example_model() -> None:
    golden = GoldenSet.load(GOLDEN)

    assert (golden.model, golden.input_name, golden.classes, len(golden.labels)) == ("mlp", "input", 4, 200)
    assert {len(row) for row in golden.inputs} == {16}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected an object"),
        (
            {"classes": 1, "examples": [{"input": [1], "label": 0}]},
            "classes must be an integer of at least 2",
        ),
        ({"classes": 2, "examples": []}, "examples must be a non-empty list"),
        ({"classes": 2, "examples": [{"input": ["x"], "label": 0}]}, "examples[0].input must be"),
        (
            {"classes": 2, "examples": [{"input": [1], "label": 0}, {"input": [1, 2], "label": 1}]},
            "examples[1].input has 2 values",
        ),
        (
            {"classes": 2, "examples": [{"input": [1], "label": 2}]},
            "examples[0].label must be a class index 0..1",
        ),
        ({"classes": 2, "examples": [{"input": [1], "label": True}]}, "examples[0].label must be"),
    ],
)
def test_a_bad_golden_set_is_refused_with_the_file_and_the_entry(
    tmp_path: Path, data: object, message: str
) -> None:
    path = write(tmp_path, data)

    with pytest.raises(GoldenSetError) as caught:
        GoldenSet.load(path)

    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


@given(st.lists(st.floats(-50, 50), min_size=2, max_size=8))
def test_softmax_top_is_the_argmax_with_a_probability_between_its_share_and_one(scores: list[float]) -> None:
    top, probability = softmax_top(scores)

    assert scores[top] == max(scores)
    assert 1 / len(scores) - 1e-9 <= probability <= 1 + 1e-9
    assert math.isfinite(probability)


def test_score_counts_top_classes_equal_to_the_labels() -> None:
    golden = GoldenSet("m", "input", 2, ((0.0,), (1.0,), (2.0,), (3.0,)), (0, 1, 1, 0))

    result = score(golden, [[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [0.0, 0.0]])

    assert result.accuracy == 0.75  # rows 0 and 1 right, row 2 wrong, row 3 a tie read as class 0 (right)
    assert result.examples == 4


def test_score_refuses_a_different_number_of_outputs() -> None:
    golden = GoldenSet("m", "input", 2, ((0.0,),), (0,))

    with pytest.raises(EvaluationError, match="2 outputs for 1 examples"):
        score(golden, [[1.0, 0.0], [0.0, 1.0]])


def test_a_failed_round_removes_the_versions_accuracy_series() -> None:
    exporter = Exporter.new("ns", "m")
    exporter.record("v2", Score(0.9, 0.8, 200))
    exporter.record("v2", EvaluationError("unreachable"))

    text = exporter.render().decode()

    assert "modelstack_golden_accuracy{" not in text
    assert 'modelstack_golden_errors_total{namespace="ns",model="m",version="v2"} 1.0' in text


def test_the_exported_series_pass_promtool_check_metrics() -> None:
    exporter = Exporter.new("ml-dev", "text-embedder")
    exporter.record("v1", Score(1.0, 0.52, 200))
    exporter.record("v2", Score(0.79, 0.52, 200))

    promtool = _install().promtool
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=exporter.render(), capture_output=True, timeout=60, check=False
    )

    # promtool exits 0 for a valid exposition (lint remarks would go to stdout; there are none).
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == b""
