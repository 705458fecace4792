"""A preview of a small catalog change shows exactly that change, even among a hundred models.

The catalogs are the benchmark's synthetic ones (bench/synthetic.py, N = 100), rendered in-process and
compared with `modelstack.engine.diff.plan`, as `modelstack preview` does.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from bench.synthetic import (
    STACK,
    model_name,
    synthetic_catalog,
    synthetic_stack_config,
    version_body,
    write_project,
)
from modelstack.engine.diff import Action, plan
from modelstack.engine.render import run_program

N = 100
WEIGHT_MODEL = 0
"""An exposed, autoscaled LLM (whole GPUs)."""
NEW_VERSION_MODEL = 5
"""An autoscaled detector on MIG slices."""
LISTS_VERSIONS = {"VirtualService", "PrometheusRule"}
"""A model's objects that enumerate its versions: the traffic split and the alert rules (they select the
versions' workloads by name). Subsets are not among them: each version's is a DestinationRule of its own."""

Objects = dict[str, dict[str, Any]]


def render(directory: Path, catalog: dict[str, Any]) -> Objects:
    project = write_project(directory, catalog, synthetic_stack_config(N))
    return {m.key: m.body for m in run_program(project, STACK).manifests}


def kind_and_name(key: str) -> tuple[str, str]:
    """`<namespace>/<Kind>.<group>/<name>.yaml` -> (Kind, name)."""
    _, kind_group, file_name = key.split("/")
    return kind_group.split(".")[0], file_name.removesuffix(".yaml")


def is_version_object(key: str, model: str, version: str) -> bool:
    """Objects of one version are named `<model>-<version>`, or `<model>-<version>-<suffix>`."""
    name = kind_and_name(key)[1]
    prefix = f"{model}-{version}"
    return name == prefix or name.startswith(prefix + "-")


@pytest.fixture(scope="module")
def catalog() -> dict[str, Any]:
    return synthetic_catalog(N)


@pytest.fixture(scope="module")
def base(catalog: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Objects:
    return render(tmp_path_factory.mktemp("base"), catalog)


def test_rerendering_the_unchanged_catalog_plans_nothing(
    catalog: dict[str, Any], base: Objects, tmp_path: Path
) -> None:
    result = plan(base, render(tmp_path, copy.deepcopy(catalog)))

    assert result.steps == []
    assert result.unchanged == len(base)


def test_a_canary_weight_change_updates_only_that_models_traffic_split(
    catalog: dict[str, Any], base: Objects, tmp_path: Path
) -> None:
    model = model_name(WEIGHT_MODEL)
    edited = copy.deepcopy(catalog)
    versions = edited["models"][model]["versions"]
    versions["v1"]["weight"], versions["v2"]["weight"] = 75, 25

    result = plan(base, render(tmp_path, edited))

    assert [(s.action, kind_and_name(s.key)) for s in result.steps] == [
        (Action.UPDATE, ("VirtualService", model))
    ]
    assert result.steps[0].changes, "the update names the fields it changes"
    assert all(c.path.endswith(".weight") for c in result.steps[0].changes)
    assert sorted(c.after for c in result.steps[0].changes) == [25, 75]


def test_a_new_version_creates_only_its_objects_and_updates_only_its_models_version_lists(
    catalog: dict[str, Any], base: Objects, tmp_path: Path
) -> None:
    model = model_name(NEW_VERSION_MODEL)
    edited = copy.deepcopy(catalog)
    versions = edited["models"][model]["versions"]
    versions["v1"]["weight"] = 80
    versions["v3"] = version_body(NEW_VERSION_MODEL, "v3", 10)

    result = plan(base, render(tmp_path, edited))

    created = {s.key for s in result.steps if s.action is Action.CREATE}
    others = {(s.action, kind_and_name(s.key)) for s in result.steps if s.action is not Action.CREATE}
    assert created, "the new version has objects"
    assert all(is_version_object(key, model, "v3") for key in created), sorted(created)
    assert {kind for kind, _ in map(kind_and_name, created)} >= {"Deployment", "Service", "DestinationRule"}
    assert others == {(Action.UPDATE, (kind, model)) for kind in LISTS_VERSIONS}
