"""The catalog's rules run in a forked child while the render goes on (`modelstack/engine/rules_beside.py`):
whatever the child does, the run sees what `load_catalog` would have given or raised, and a catalog the
rules reject stores nothing and is reported as the rules report it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from components.catalog.errors import CatalogError, Severity
from components.gpu.capacity_report import capacity_plan
from components.validation.loader import check_schema, load_catalog, load_stack_config
from modelstack.engine import incremental, render_store
from modelstack.engine.forked import can_fork
from modelstack.engine.render import run_program
from modelstack.engine.render_cache import RenderCache
from modelstack.engine.render_keys import RENDER
from modelstack.engine.rules_beside import rules_beside
from tests.conftest import FRESH
from tests.foundation.catalog_project import CATALOG, make_project

# Each test in an interpreter of its own (`fresh_interpreter`): there no thread another test left running
# stops the fork.
pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="a child is forked on Linux only"),
    pytest.mark.fresh_interpreter,
]

# Pool gpu-a has 16 GPUs; at 20 replicas of one GPU the maximum overflows it: a warning, not an error.
WARNED = CATALOG.replace(
    "        weight: 10\n", "        weight: 10\n        replicas: {min: 1, max: 20}\n", 1
)
# Half precision with no smoke test: an error only the rules find, on a catalog the program renders.
REJECTED = CATALOG.replace("precision: bf16", "precision: fp16")


@pytest.fixture(autouse=True)
def in_a_single_thread() -> None:
    if os.environ.get(FRESH):
        assert can_fork(), "the fresh interpreter runs another thread: no test here would fork"


def _checked(project: Path) -> Any:
    return check_schema(project / "models.yaml", load_stack_config(project, "test"))


def _expected(project: Path) -> Any:
    try:
        return load_catalog(project / "models.yaml", load_stack_config(project, "test"))
    except CatalogError as exc:
        return exc.problems


def _through_the_child(project: Path) -> Any:
    with rules_beside(_checked(project), fork=True) as beside:
        try:
            return beside.validated()
        except CatalogError as exc:
            return exc.problems


def _children_left() -> bool:
    try:
        return os.waitpid(-1, os.WNOHANG) != (0, 0)
    except ChildProcessError:
        return False


def test_the_child_s_warnings_are_the_ones_load_catalog_gives(tmp_path: Path) -> None:
    project = make_project(tmp_path, WARNED)

    loaded = _through_the_child(project)

    assert [p.severity for p in loaded.warnings] == [Severity.WARNING]
    assert loaded.warnings == _expected(project).warnings
    assert loaded.catalog == _expected(project).catalog


def test_a_catalog_the_rules_reject_raises_from_the_child_what_load_catalog_raises(tmp_path: Path) -> None:
    project = make_project(tmp_path, REJECTED)

    problems = _through_the_child(project)

    assert any("fp16 versions must declare a smokeTest" in p.message for p in problems)
    assert problems == _expected(project)


def test_the_child_s_capacity_plan_is_the_one_planned_here(tmp_path: Path) -> None:
    project = make_project(tmp_path, WARNED)
    checked = _checked(project)

    with rules_beside(checked, fork=True) as beside:
        planned = beside.capacity()

    assert planned is not None
    assert planned == capacity_plan(checked.catalog, checked.stack)
    assert planned["pools"], "the catalog's pools are planned"


def test_without_a_child_the_program_plans_the_capacity_itself(tmp_path: Path) -> None:
    project = make_project(tmp_path, CATALOG)

    with rules_beside(_checked(project), fork=False) as beside:
        assert beside.capacity() is None


def test_a_render_exports_the_plan_it_would_plan_itself(tmp_path: Path) -> None:
    project = make_project(tmp_path, WARNED)

    cached = incremental.cached_render(project, "test", RenderCache(tmp_path / "cache"))

    assert cached.outputs["capacity"] == run_program(project, "test").outputs["capacity"]


def test_a_child_that_fails_means_the_rules_run_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path, REJECTED)
    checked = _checked(project)
    parent = os.getpid()
    real = type(checked).rule_problems

    def dies_in_the_child(self: Any) -> Any:
        if os.getpid() != parent:
            raise MemoryError
        return real(self)

    monkeypatch.setattr(type(checked), "rule_problems", dies_in_the_child)
    with rules_beside(checked, fork=True) as beside, pytest.raises(CatalogError) as raised:
        beside.validated()

    assert raised.value.problems == _expected(project)


def test_the_child_is_reaped_when_the_run_fails_before_asking_for_the_rules(tmp_path: Path) -> None:
    project = make_project(tmp_path, CATALOG)

    with pytest.raises(RuntimeError), rules_beside(_checked(project), fork=True):
        raise RuntimeError("the program failed")

    assert not _children_left()


def test_a_catalog_the_schema_rejects_is_reported_before_any_child_starts(tmp_path: Path) -> None:
    project = make_project(tmp_path, CATALOG.replace("weight: 90", "weight: ninety"))

    with pytest.raises(CatalogError) as raised, rules_beside(_checked(project), fork=True):
        pytest.fail("a catalog the schema rejects must not reach the run")

    assert raised.value.problems == _expected(project)
    assert not _children_left()


def test_the_rules_error_is_reported_not_the_program_s_failure_on_the_catalog_they_reject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path, REJECTED)
    cache = RenderCache(tmp_path / "cache")

    def program_fails(*_: Any, **__: Any) -> Any:
        raise KeyError("what the program made of a rejected catalog")

    monkeypatch.setattr(incremental, "render_models", program_fails)
    with pytest.raises(CatalogError) as raised:
        incremental.cached_render(project, "test", cache)

    assert raised.value.problems == _expected(project)


def test_a_catalog_the_rules_reject_stores_no_render(tmp_path: Path) -> None:
    project = make_project(tmp_path, REJECTED)
    cache = RenderCache(tmp_path / "cache")

    with pytest.raises(CatalogError):
        incremental.cached_render(project, "test", cache)

    kinds = {render_store.MODEL_INDEX, render_store.MODEL_TEXTS, render_store.MODEL_BODIES, RENDER}
    stored = {
        p.relative_to(tmp_path / "cache").parts[0] for p in (tmp_path / "cache").rglob("*") if p.is_file()
    }
    assert stored & kinds == set()


def test_a_valid_catalog_s_program_failure_is_raised_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path, CATALOG)

    def program_fails(*_: Any, **__: Any) -> Any:
        raise KeyError("a defect of the program")

    monkeypatch.setattr(incremental, "render_models", program_fails)
    with pytest.raises(KeyError, match="a defect of the program"):
        incremental.cached_render(project, "test", RenderCache(tmp_path / "cache"))
    assert not _children_left()
