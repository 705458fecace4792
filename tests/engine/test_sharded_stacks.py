"""Sharded stacks under the real engine: a base and two models shards of one project, on one `file://`
backend, each rendering through its own provider's `renderYamlToDirectory` (docs/sharding.md).

The shards read the base through a real `pulumi.StackReference`. The tests run in file order on the same
three stacks; each one leaves the stacks as it found them, except the move, which comes last.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.engine.engine import (
    ROOT,
    ObjectId,
    Pulumi,
    Stack,
    copy_project,
    engine_operations,
    git,
    offline_render,
    read_objects,
)
from tests.sharding.layout import BASE, SHARDS, render_dir, write_family, write_shard

STACKS = (BASE, *SHARDS)


@dataclass(frozen=True)
class Family:
    project: Path
    stacks: dict[str, Stack]
    unsharded: dict[ObjectId, dict[str, Any]]
    """`modelstack render` of the dev stack: what the family must render together."""

    def rendered(self, stack: str) -> dict[ObjectId, dict[str, Any]]:
        return read_objects(self.project / render_dir(stack))

    def outputs(self, stack: str) -> dict[str, Any]:
        return self.stacks[stack].engine.outputs(self.project, stack)

    def operations(self) -> dict[str, dict[ObjectId, str]]:
        return {name: engine_operations(stack.preview()) for name, stack in self.stacks.items()}


@pytest.fixture(scope="module")
def family(engine: Pulumi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Family]:
    where = tmp_path_factory.mktemp("sharded")
    project = copy_project(where / "modelstack")
    write_family(project)
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "a base and two shards")
    unsharded, _ = offline_render(project, "dev", where / "offline-dev")
    backend = engine.with_backend(where / "state")
    stacks = {name: Stack(backend, project, name) for name in STACKS}
    for stack in stacks.values():
        stack.run("stack", "init", stack.name)
    try:
        for name in STACKS:  # the deploy workflow's order: the base, then its shards
            stacks[name].up()
        yield Family(project, stacks, unsharded)
    finally:
        for name in reversed(STACKS):
            stacks[name].destroy()


def restore(family: Family) -> None:
    git(family.project, "reset", "--quiet", "--hard")


def test_the_base_and_its_shards_write_the_unsharded_objects_field_for_field(family: Family) -> None:
    union: dict[ObjectId, dict[str, Any]] = {}
    for stack in STACKS:
        objects = family.rendered(stack)
        assert not set(objects) & set(union), f"{stack} writes objects another stack of the family writes"
        union.update(objects)
    assert sorted(union) == sorted(family.unsharded)
    assert [key for key in union if union[key] != family.unsharded[key]] == []


def test_a_shard_reads_its_base_through_a_stack_reference(family: Family) -> None:
    state = json.loads(family.stacks["shard-a"].run("stack", "export", "--stack", "shard-a").stdout)
    references = [r for r in state["deployment"]["resources"] if r["type"] == "pulumi:pulumi:StackReference"]
    assert [r["inputs"]["name"] for r in references] == [f"organization/modelstack/{BASE}"]
    base = family.outputs(BASE)["contract"]
    assert base["shard"]["role"] == "base" and base["models"] == {}
    for shard in SHARDS:
        assert family.outputs(shard)["contract"]["shard"]["shared"] == base["shard"]["shared"]


def test_no_change_previews_no_change_in_any_stack(family: Family) -> None:
    assert family.operations() == {name: {} for name in STACKS}


def test_a_one_model_change_previews_changes_in_exactly_one_models_stack(family: Family) -> None:
    catalog = family.project / "models.yaml"
    text = catalog.read_text(encoding="utf-8")
    catalog.write_text(
        text.replace("weight: 90\n", "weight: 80\n", 1).replace("weight: 10\n", "weight: 20\n", 1)
    )
    try:
        operations = family.operations()
        touched = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "modelstack"), "stacks", "--changed-since", "HEAD", "--json"],
            cwd=family.project,
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        restore(family)
    assert operations[BASE] == {} and operations["shard-b"] == {}
    assert set(operations["shard-a"].values()) == {"update"}
    assert {name for (_, _, _, name) in operations["shard-a"]} == {"llm-chat"}  # the VirtualService
    shards = [s["stack"] for s in json.loads(touched.stdout)["stacks"] if s["role"] == "models"]
    assert shards == ["shard-a"]


def test_a_shard_refuses_a_base_deployed_from_other_shared_settings(family: Family) -> None:
    base_file = family.project / f"Pulumi.{BASE}.yaml"
    base_file.write_text(
        base_file.read_text(encoding="utf-8").replace("models.dev.internal", "models.dev2.internal")
    )
    before = family.rendered("shard-a")
    try:
        preview = family.stacks["shard-a"].run("preview", "--stack", "shard-a", check=False)
        up = family.stacks["shard-a"].run("up", "--stack", "shard-a", "--yes", "--skip-preview", check=False)
    finally:
        restore(family)
    assert preview.returncode == 0
    assert f"base {BASE} was deployed with other shared settings" in preview.stdout + preview.stderr
    output = up.stdout + up.stderr
    assert up.returncode != 0 and "`pulumi up` the base first" in output and "Traceback" not in output
    assert family.rendered("shard-a") == before  # nothing was written


def test_a_handed_over_model_moves_by_a_delete_in_one_shard_and_a_create_in_the_other(family: Family) -> None:
    # Step 1: shard-b hands text-embedder over: state only, nothing written or deleted.
    write_shard(family.project, "shard-b", SHARDS["shard-b"], hand_over=("text-embedder",))
    git(family.project, "commit", "--quiet", "--all", "-m", "shard-b hands text-embedder over")
    family.stacks["shard-b"].up()
    # The weights' PersistentVolume is cluster-scoped: its name starts with the namespace.
    moving = {
        key
        for key in family.rendered("shard-b")
        if key[3].startswith("text-embedder")
        or (key[1] == "PersistentVolume" and "-text-embedder-" in key[3])
    }
    assert moving
    # Step 2: the selectors move it.
    write_shard(family.project, "shard-a", [*SHARDS["shard-a"], "team-search"])
    write_shard(family.project, "shard-b", ["team-vision"])
    git(family.project, "commit", "--quiet", "--all", "-m", "text-embedder moves to shard-a")
    operations = family.operations()
    assert operations[BASE] == {}
    assert operations["shard-b"] == dict.fromkeys(moving, "delete")
    assert operations["shard-a"] == dict.fromkeys(moving, "create")
    # The giving shard first: its delete is a retained one, so the objects are still there (still
    # serving) when the receiving shard adopts them.
    family.stacks["shard-b"].up()
    assert moving <= set(family.rendered("shard-b"))
    family.stacks["shard-a"].up()
    assert moving <= set(family.rendered("shard-a"))
    adopted = family.rendered("shard-a")
    assert all(adopted[key] == family.unsharded[key] for key in moving)
    assert family.operations() == {name: {} for name in STACKS}
