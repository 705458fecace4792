"""The benchmark's floors declare what the render declares: the flat floor its objects, the structured
floor its whole resource tree (same registrations, same types and names), so the ratios compare like
with like."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bench.floors import flat_floor, prepare, structured_floor, tree_path
from bench.synthetic import STACK, synthetic_project
from modelstack.engine.render import run_program

N = 6


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("floors")
    project = synthetic_project(directory / "project", N)
    manifests = directory / "manifests.json"
    prepare(project, manifests)
    return project, manifests


def test_flat_floor_declares_every_object_and_one_provider(prepared: tuple[Path, Path]) -> None:
    _, manifests = prepared
    objects = json.loads(manifests.read_text())

    assert flat_floor(objects) == len(objects) + 1


def test_structured_floor_replays_every_registration_of_the_render(prepared: tuple[Path, Path]) -> None:
    project, manifests = prepared
    render = run_program(project, STACK)
    tree = json.loads(tree_path(manifests).read_text())

    assert structured_floor(tree) == len(render.resources)
    assert Counter((e["type"], e["name"]) for e in tree) == Counter(
        (r.type, r.name) for r in render.resources
    )


def test_structured_floor_keeps_the_programs_parents_and_dependencies(prepared: tuple[Path, Path]) -> None:
    _, manifests = prepared
    tree = json.loads(tree_path(manifests).read_text())
    known = {e["urn"] for e in tree}

    deployments = [e for e in tree if e["type"] == "kubernetes:apps/v1:Deployment"]
    assert deployments and all("modelstack:workload:ModelVersion" in e["parent"] for e in deployments)
    assert all(dep in known for e in tree for dep in e["deps"])
    assert any(e["deps"] for e in tree if e["type"].endswith(":VirtualService"))
