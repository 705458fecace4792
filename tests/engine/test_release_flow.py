"""Release steps under the real engine, and the offline plan agreeing with the real one.

Each step is a commit of `models.yaml` in a project copy. The real `pulumi preview --json` must touch
exactly the objects the step is about, with the expected operation, and `modelstack preview --base
HEAD~1 --json` must name the same objects with the same operations. Every step starts from the base
commit with the stack up to date there, so each one can run alone.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.engine.catalog_edits import CatalogEdit, add_version, edit_catalog, remove_version, set_weights
from tests.engine.engine import (
    RENDER_DIR,
    ROOT,
    ObjectId,
    Pulumi,
    Stack,
    engine_operations,
    git,
    new_stack,
    offline_operations,
    step_at,
)

NAMESPACE = "ml-dev"
ISTIO = "networking.istio.io"


def offline_preview(project: Path, base: str) -> dict[str, Any]:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "modelstack"), "preview", "--stack", "dev", "--base", base, "--json"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@dataclass(frozen=True)
class ReleaseStep:
    """A step as a reviewer names it: the commits before it, its own commit, what it may touch."""

    name: str
    prepare: tuple[CatalogEdit, ...]
    edit: CatalogEdit
    expect: Callable[[dict[ObjectId, str]], None]


def _of_version(key: ObjectId, model: str, version: str) -> bool:
    # The weights' PersistentVolume is cluster-scoped, so its name starts with the namespace.
    name = key[3].removeprefix(f"{NAMESPACE}-") if key[1] == "PersistentVolume" else key[3]
    return name.startswith(f"{model}-{version}")


def _expect_weight_change(operations: dict[ObjectId, str]) -> None:
    assert operations == {(ISTIO, "VirtualService", NAMESPACE, "llm-chat"): "update"}


def _expect_version_objects(operation: str, version: str) -> Callable[[dict[ObjectId, str]], None]:
    """Exactly `version`'s own objects get `operation`, its subset rule among them; only llm-chat's
    objects are updated, and never the policy rule every version shares."""

    def expect(operations: dict[ObjectId, str]) -> None:
        touched = {key for key, op in operations.items() if op == operation}
        assert touched, operations
        assert all(_of_version(key, "llm-chat", version) for key in touched), sorted(touched)
        assert {"Deployment", "Service", "ConfigMap", "DestinationRule"} <= {key[1] for key in touched}
        updated = {key for key, op in operations.items() if op == "update"}
        assert (ISTIO, "DestinationRule", NAMESPACE, "llm-chat") not in updated
        assert all(key[3].startswith("llm-chat") for key in updated), sorted(updated)
        assert set(operations.values()) <= {operation, "update"}, operations

    return expect


STEPS = [
    ReleaseStep("canary weight change", (), set_weights("llm-chat", v1=80, v2=20), _expect_weight_change),
    ReleaseStep(
        "new version", (), add_version("llm-chat", "v2", "v3"), _expect_version_objects("create", "v3")
    ),
    ReleaseStep(
        "retire a version",
        (set_weights("llm-chat", v1=100, v2=0),),
        remove_version("llm-chat", "v2"),
        _expect_version_objects("delete", "v2"),
    ),
]


@dataclass
class ReleaseProject:
    stack: Stack
    base_commit: str

    @property
    def path(self) -> Path:
        return self.stack.project

    def up(self) -> None:
        self.stack.up()

    def reset(self) -> None:
        """Back to the base commit (history kept), and the stack up to date there."""
        git(self.path, "checkout", "--quiet", "-B", "main", self.base_commit)
        self.up()


@pytest.fixture(scope="module")
def release_project(engine: Pulumi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReleaseProject]:
    with new_stack(engine, tmp_path_factory.mktemp("release")) as stack:
        project = ReleaseProject(stack, git(stack.project, "rev-parse", "HEAD").strip())
        project.up()
        yield project


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.name)
def test_real_and_offline_plans_agree_and_touch_only_the_step(
    release_project: ReleaseProject, step: ReleaseStep
) -> None:
    release_project.reset()
    for number, prepare in enumerate(step.prepare):
        edit_catalog(release_project.path, prepare, f"prepare {step.name} ({number})")
        release_project.up()
    edit_catalog(release_project.path, step.edit, step.name)

    real = engine_operations(release_project.stack.preview())
    offline = offline_operations(offline_preview(release_project.path, "HEAD~1"))

    step.expect(real)
    assert offline == real
    release_project.up()


@dataclass(frozen=True)
class RoutingOrder:
    """A release step and the two steps of it the engine must run in order: `first` has finished before
    `then` starts (Istio's make-before-break: a subset exists whenever a route names it)."""

    name: str
    prepare: tuple[CatalogEdit, ...]
    edit: CatalogEdit
    first: tuple[str, str]
    then: tuple[str, str]


ROUTING_ORDERS = [
    RoutingOrder(
        "a new pinned version's subset exists before its route",
        (),
        add_version("llm-chat", "v2", "v3", pinned=True),
        first=("create", "llm-chat-v3-subset"),
        then=("update", "llm-chat-virtual-service"),
    ),
    RoutingOrder(
        "a retired version's routes are gone before its subset",
        (set_weights("llm-chat", v1=100, v2=0),),
        remove_version("llm-chat", "v2"),  # v2 keeps its header pin at weight 0: the route goes with it
        first=("update", "llm-chat-virtual-service"),
        then=("delete", "llm-chat-v2-subset"),
    ),
]


@pytest.mark.parametrize("order", ROUTING_ORDERS, ids=lambda o: o.name)
def test_the_engine_changes_routes_and_subsets_make_before_break(
    release_project: ReleaseProject, order: RoutingOrder
) -> None:
    release_project.reset()
    for number, prepare in enumerate(order.prepare):
        edit_catalog(release_project.path, prepare, f"prepare {order.name} ({number})")
        release_project.up()
    edit_catalog(release_project.path, order.edit, order.name)

    events = release_project.stack.up_with_events()

    assert step_at(events, "done", *order.first) < step_at(events, "start", *order.then)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def test_git_revert_and_up_restore_the_previous_render_byte_for_byte(release_project: ReleaseProject) -> None:
    release_project.reset()
    before = snapshot(release_project.path / RENDER_DIR)
    edit_catalog(release_project.path, add_version("llm-chat", "v2", "v3"), "add v3")
    release_project.up()
    assert snapshot(release_project.path / RENDER_DIR) != before

    git(release_project.path, "revert", "--no-edit", "HEAD")
    release_project.up()

    assert snapshot(release_project.path / RENDER_DIR) == before
    again = release_project.stack.preview("--expect-no-changes")
    assert engine_operations(again) == {}
