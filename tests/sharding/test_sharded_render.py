"""A base and its models shards render, together, exactly the unsharded stack (offline engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.catalog.shard import ShardRole
from components.contract.build import shared_digest
from components.validation.loader import load_stack_config
from modelstack.engine.render import Render, run_program
from tests.git_project import clone_of_working_tree
from tests.sharding.layout import BASE, SHARDS, write_family


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = clone_of_working_tree(tmp_path_factory.mktemp("family") / "project").root
    write_family(root)
    return root


@pytest.fixture(scope="module")
def renders(family: Path) -> dict[str, Render]:
    return {stack: run_program(family, stack) for stack in ("dev", BASE, *SHARDS)}


def objects(render: Render) -> dict[str, object]:
    return {m.key: m.body for m in render.manifests}


def test_union_of_the_base_and_its_shards_is_the_unsharded_render(renders: dict[str, Render]) -> None:
    union: dict[str, object] = {}
    for stack in (BASE, *SHARDS):
        mine = objects(renders[stack])
        assert not set(mine) & set(union), f"{stack} renders objects another stack of the family renders"
        union.update(mine)
    assert union == objects(renders["dev"])


def test_the_base_renders_the_shared_objects_and_no_model(renders: dict[str, Render]) -> None:
    kinds = sorted(m.kind for m in renders[BASE].manifests)
    # The MIG layouts; no adapter rules: the dev stack scales with KEDA, which needs none.
    assert kinds == ["ConfigMap", "Namespace", "PeerAuthentication"]


def test_a_shard_renders_only_the_models_it_selects(renders: dict[str, Render]) -> None:
    assert sorted(renders["shard-a"].outputs["contract"]["models"]) == ["llm-chat"]
    assert sorted(renders["shard-b"].outputs["contract"]["models"]) == ["text-embedder", "vision-detector"]
    namespace = renders["shard-a"].outputs["contract"]["namespace"]
    # The weights' PersistentVolumes are cluster-scoped, so their names start with the namespace.
    names = {m.name.removeprefix(f"{namespace}-") for m in renders["shard-a"].manifests}
    assert all(name.startswith("llm-chat") for name in names), names


def test_the_base_exports_the_capacity_plan_of_every_model_of_its_shards(renders: dict[str, Render]) -> None:
    assert renders[BASE].outputs["capacity"] == renders["dev"].outputs["capacity"]
    assert renders[BASE].outputs["contract"]["models"] == {}
    assert "capacity" not in renders["shard-a"].outputs
    assert renders["shard-a"].outputs["contract"]["capacity"] is None


def test_shards_and_base_export_the_same_digest_of_the_shared_settings(
    family: Path, renders: dict[str, Render]
) -> None:
    digest = shared_digest(load_stack_config(family, BASE))
    for stack, role in ((BASE, "base"), *((s, "models") for s in SHARDS)):
        shard = renders[stack].outputs["contract"]["shard"]
        assert shard["role"] == role and shard["shared"] == digest


def test_an_unsharded_stack_exports_no_shard(renders: dict[str, Render]) -> None:
    assert "shard" not in renders["dev"].outputs["contract"]


def test_a_shard_inherits_every_shared_setting_from_its_base(family: Path) -> None:
    base, shard = load_stack_config(family, BASE), load_stack_config(family, "shard-a")
    assert shard.shard.role is ShardRole.MODELS
    assert shard.node_pools == base.node_pools and shard.istio == base.istio and shard.secrets == base.secrets
    assert shard.kubernetes.render_dir != base.kubernetes.render_dir
