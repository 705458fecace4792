"""`modelstack stacks`: every stack in deploy waves, and which stacks a change touches, as the workflows
read it (`--json`). Each scenario is a commit of a git repository and a working-tree change on top."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.git_project import GitProject, clone_of_working_tree, run_modelstack
from tests.sharding.layout import BASE, SHARDS, write_family, write_shard


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> GitProject:
    project = clone_of_working_tree(tmp_path_factory.mktemp("stacks") / "project")
    write_family(project.root)
    project.commit("a base and two shards")
    return project


@pytest.fixture()
def project(committed: GitProject) -> GitProject:
    """The committed family with a clean working tree again after the test."""
    yield committed
    committed.git("reset", "--quiet", "--hard")
    committed.git("clean", "--quiet", "-fd")


def stacks(project: GitProject, *args: str) -> dict[str, Any]:
    result = run_modelstack(project.root, "stacks", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def touched(project: GitProject) -> dict[str, list[str]]:
    return {s["stack"]: s["reasons"] for s in stacks(project, "--changed-since", "HEAD")["stacks"]}


def test_every_stack_is_listed_with_the_models_it_owns_bases_first(project: GitProject) -> None:
    listed = stacks(project)
    assert listed["waves"] == [sorted([BASE, "dev", "prod"]), sorted(SHARDS)]
    owned = {s["stack"]: s["models"] for s in listed["stacks"]}
    assert owned[BASE] == [] and owned["shard-a"] == ["llm-chat"]
    assert sorted(owned["shard-b"]) == ["text-embedder", "vision-detector"]
    assert sorted(owned["dev"]) == sorted(owned["prod"]) == ["llm-chat", "text-embedder", "vision-detector"]


def test_no_change_touches_no_stack(project: GitProject) -> None:
    assert touched(project) == {}


def test_a_one_model_change_touches_only_the_shard_owning_it_among_the_shards(project: GitProject) -> None:
    project.edit(
        "models.yaml",
        lambda t: t.replace("weight: 90\n", "weight: 80\n", 1).replace("weight: 10\n", "weight: 20\n", 1),
    )
    assert touched(project) == {
        "dev": ["model llm-chat"],
        "prod": ["model llm-chat"],
        "shard-a": ["model llm-chat"],
    }


def test_a_change_of_what_a_base_plans_touches_the_base_too(project: GitProject) -> None:
    project.edit(
        "models.yaml", lambda t: t.replace("replicas: {min: 2, max: 6}", "replicas: {min: 2, max: 5}", 1)
    )
    assert touched(project)[BASE] == ["models' shared objects and capacity plan"]
    assert "shard-b" not in touched(project)


def test_a_change_of_the_base_settings_touches_the_base_and_every_shard_of_it(project: GitProject) -> None:
    project.edit(
        "Pulumi.base.yaml", lambda t: t.replace("domain: models.dev.internal", "domain: models.dev2.internal")
    )
    assert sorted(touched(project)) == sorted([BASE, *SHARDS])


def test_a_change_of_the_program_touches_every_stack(project: GitProject) -> None:
    project.edit("components/naming.py", lambda t: t + "\n# a change of the program\n")
    reasons = touched(project)
    assert sorted(reasons) == sorted([BASE, "dev", "prod", *SHARDS])
    assert reasons["shard-a"] == ["program input changed: components/naming.py"]


def test_documentation_touches_no_stack(project: GitProject) -> None:
    project.edit("README.md", lambda t: t + "\nmore words\n")
    project.edit("docs/gpu.md", lambda t: t + "\nmore words\n")
    assert touched(project) == {}


def test_a_removed_model_touches_the_shard_that_owned_it(project: GitProject) -> None:
    project.edit("models.yaml", lambda t: t[: t.index("  # A CPU text embedder")])
    assert touched(project)["shard-b"] == ["model text-embedder"]
    assert "shard-a" not in touched(project)


def test_moving_a_model_between_shards_in_one_change_is_refused(project: GitProject) -> None:
    write_shard(project.root, "shard-a", ["team-assistant", "team-search"])
    write_shard(project.root, "shard-b", ["team-vision"])
    result = run_modelstack(project.root, "stacks", "--changed-since", "HEAD", "--json")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("Pulumi.shard-a.yaml:")
    assert "model text-embedder moves from stack shard-b to stack shard-a in one change" in result.stderr
    assert (
        "first add text-embedder to modelstack:shard.handOver of Pulumi.shard-b.yaml and deploy that"
        in result.stderr
    )


def test_a_model_handed_over_first_moves_and_touches_both_shards(project: GitProject) -> None:
    write_shard(project.root, "shard-b", SHARDS["shard-b"], hand_over=("text-embedder",))
    assert sorted(touched(project)) == ["shard-b"]  # the hand-over itself: one stack
    project.commit("shard-b hands text-embedder over")
    write_shard(project.root, "shard-a", ["team-assistant", "team-search"])
    write_shard(project.root, "shard-b", ["team-vision"])
    reasons = touched(project)
    assert sorted(reasons) == ["shard-a", "shard-b"]
    assert "model text-embedder" in reasons["shard-a"] and "model text-embedder" in reasons["shard-b"]


def test_an_unknown_revision_is_a_failure_not_invalid_input(project: GitProject) -> None:
    result = run_modelstack(project.root, "stacks", "--changed-since", "no-such-revision")
    assert result.returncode == 1 and result.stderr.startswith("error: git ")
    assert "Traceback" not in result.stderr


def test_a_new_stack_is_touched(project: GitProject) -> None:
    subprocess.run(
        ["cp", str(project.root / "Pulumi.dev.yaml"), str(project.root / "Pulumi.staging.yaml")], check=True
    )
    assert touched(project) == {"staging": ["new stack"]}
