"""`analysis.goldenSet` is checked when the catalog is validated: every problem located in models.yaml."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.catalog.errors import CatalogError, Problem
from components.validation.loader import load_catalog, load_stack_config
from tests.git_project import modelstack_env
from tests.quality.conftest import MODEL, ROOT, repo_catalog, write_project

GOLDEN = "examples/golden-set/golden.json"
FIELD = f"models.{MODEL}.analysis"


def _problems(
    tmp_path: Path,
    edit: Callable[[dict[str, Any]], None],
    stack_edit: Callable[[str], str] = lambda text: text,
) -> tuple[list[Problem], list[str]]:
    """Problems of the repository's catalog after `edit` of text-embedder's model, for the dev stack, and
    the catalog's lines."""
    catalog = repo_catalog()
    edit(catalog["models"][MODEL])
    project = write_project(tmp_path / "project", catalog, stack_edit)
    lines = (project / "models.yaml").read_text(encoding="utf-8").splitlines()
    try:
        load_catalog(project / "models.yaml", load_stack_config(project, "dev"))
    except CatalogError as err:
        return [p for p in err.problems if p.path.startswith(FIELD)], lines
    return [], lines


def _line_of(lines: list[str], text: str) -> int:
    [number] = [i + 1 for i, line in enumerate(lines) if text in line]
    return number


def _golden(model: dict[str, Any], **fields: Any) -> None:
    model["analysis"]["goldenSet"] = {"file": GOLDEN, **fields}


def _write_golden(tmp_path: Path, text: str) -> Callable[[dict[str, Any]], None]:
    """An edit pointing text-embedder's golden set at a file holding `text` inside the project."""
    target = tmp_path / "project" / "golden" / "bad.json"
    target.parent.mkdir(parents=True)
    target.write_text(text, encoding="utf-8")
    return lambda model: _golden(model, file="golden/bad.json")


@pytest.mark.parametrize("field", ["accuracyDropPercent", "confidenceDrift"])
def test_a_quality_check_without_a_golden_set_is_refused_at_its_field(tmp_path: Path, field: str) -> None:
    def edit(model: dict[str, Any]) -> None:
        model["analysis"].pop("goldenSet")
        model["analysis"].pop("accuracyDropPercent")
        model["analysis"][field] = 0.05

    [problem], lines = _problems(tmp_path, edit)

    assert problem.path == f"{FIELD}.{field}"
    assert problem.line == _line_of(lines, f"{field}:")
    assert "needs analysis.goldenSet" in problem.message and "progressDeadline" in problem.message


def test_a_missing_golden_set_file_is_refused_at_the_file_field(tmp_path: Path) -> None:
    [problem], lines = _problems(tmp_path, lambda m: _golden(m, file="examples/golden-set/nope.json"))

    assert (problem.path, problem.line) == (f"{FIELD}.goldenSet.file", _line_of(lines, "nope.json"))
    assert problem.message == "'examples/golden-set/nope.json' not found"


def test_a_golden_set_that_is_not_json_names_its_own_line_and_column(tmp_path: Path) -> None:
    [problem], lines = _problems(tmp_path, _write_golden(tmp_path, '{"classes": 2,\n  "examples": [,]}'))

    assert (problem.path, problem.line) == (f"{FIELD}.goldenSet.file", _line_of(lines, "bad.json"))
    assert problem.message.startswith("golden/bad.json:2:16: not JSON: Expecting value")


def test_a_golden_set_of_the_wrong_shape_names_the_entry(tmp_path: Path) -> None:
    text = json.dumps(
        {"classes": 2, "examples": [{"input": [1.0], "label": 0}, {"input": [2.0], "label": 5}]}
    )

    [problem], _ = _problems(tmp_path, _write_golden(tmp_path, text))

    assert problem.path == f"{FIELD}.goldenSet.file"
    assert problem.message.startswith("golden/bad.json: examples[1].label must be a class index 0..1")


def test_a_golden_set_too_large_for_its_config_map_is_refused(tmp_path: Path) -> None:
    """Below 1 MiB on its own, above it with the program and the spec beside it in the ConfigMap."""
    example = {"input": [0.123456] * 16, "label": 1}
    per_example = len(json.dumps(example)) + 2
    count = (1_048_576 - 4_000) // per_example
    text = json.dumps({"model": "mlp", "input": "input", "classes": 4, "examples": [example] * count})
    assert 1_040_000 < len(text) < 1_048_576

    [problem], _ = _problems(tmp_path, _write_golden(tmp_path, text))

    assert problem.path == f"{FIELD}.goldenSet.file"
    assert "more than the API server's limit of 1048576" in problem.message


def test_a_golden_set_outside_the_project_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text((ROOT / GOLDEN).read_text(encoding="utf-8"), encoding="utf-8")

    [problem], _ = _problems(tmp_path, lambda m: _golden(m, file="../outside.json"))

    assert problem.path == f"{FIELD}.goldenSet.file"
    assert "resolves outside the project" in problem.message


def test_an_interval_longer_than_the_window_is_refused_at_the_interval(tmp_path: Path) -> None:
    [problem], lines = _problems(tmp_path, lambda m: _golden(m, interval="10m"))

    assert (problem.path, problem.line) == (f"{FIELD}.goldenSet.interval", _line_of(lines, "interval: 10m"))
    assert "must be from 5s to the analysis window (5m)" in problem.message


def test_a_golden_set_needs_the_stacks_runner_image(tmp_path: Path) -> None:
    def no_runner(text: str) -> str:
        return "\n".join(x for x in text.splitlines() if "smokeRunnerImage:" not in x) + "\n"

    # vision-detector's smoke test needs the runner too; only the evaluator's finding is looked at.
    found, _ = _problems(tmp_path, lambda m: None, no_runner)

    [problem] = found
    assert problem.path == f"{FIELD}.goldenSet"
    assert "no smokeRunnerImage to run the golden-set evaluator in" in problem.message


def test_the_evaluator_is_refused_a_gpu_pool(tmp_path: Path) -> None:
    [problem], _ = _problems(tmp_path, lambda m: _golden(m, nodePool="gpu-h100"))

    assert problem.path == f"{FIELD}.goldenSet.nodePool"
    assert "has GPUs; the evaluator needs none" in problem.message


def test_a_version_named_like_the_evaluator_is_refused(tmp_path: Path) -> None:
    def clash(model: dict[str, Any]) -> None:
        model["versions"]["golden-eval"] = {**model["versions"]["v1"], "weight": 0}

    [problem], _ = _problems(tmp_path, clash)

    assert problem.path == f"{FIELD}.goldenSet"
    assert "'text-embedder-golden-eval', which is already the name of version text-embedder/golden-eval" in (
        problem.message
    )


def test_modelstack_validate_exits_2_naming_the_golden_set_without_a_traceback(tmp_path: Path) -> None:
    catalog = repo_catalog()
    _golden(catalog["models"][MODEL], file="examples/golden-set/nope.json")
    project = write_project(tmp_path / "project", catalog)

    done = subprocess.run(
        [sys.executable, "-m", "modelstack", "validate", "--stack", "dev"],
        cwd=project,
        env=modelstack_env(ROOT),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 2
    assert f"{FIELD}.goldenSet.file: 'examples/golden-set/nope.json' not found" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_a_route_that_is_not_one_path_segment_is_refused_at_the_route(tmp_path: Path) -> None:
    [problem], lines = _problems(tmp_path, lambda m: _golden(m, route="../admin"))

    assert (problem.path, problem.line) == (f"{FIELD}.goldenSet.route", _line_of(lines, "route: ../admin"))
    assert "is not a model name for /v2/models/<name>/infer" in problem.message
