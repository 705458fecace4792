"""`modelstack:shard`: what a shard may set, what it inherits, and that its base's family owns every model
exactly once. Every refusal is located in the file to fix, before anything is rendered."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from components.catalog.errors import CatalogError
from components.catalog.shard import ModelSelector, ShardConfig
from components.validation.loader import load_stack_and_catalog
from tests.sharding.layout import BASE, SHARDS, shard_file, write_family, write_shard, write_stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def family(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # messages name files relative to the working directory
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "models.yaml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "examples" / "model-server", tmp_path / "examples" / "model-server")
    shutil.copytree(ROOT / "examples" / "golden-set", tmp_path / "examples" / "golden-set")
    write_family(tmp_path)
    return tmp_path


def problems(root: Path, stack: str) -> list[str]:
    with pytest.raises(CatalogError) as error:
        load_stack_and_catalog(root, stack)
    return [str(p) for p in error.value.problems]


def test_every_stack_of_a_valid_family_validates(family: Path) -> None:
    for stack in (BASE, *SHARDS):
        load_stack_and_catalog(family, stack)


def test_a_shard_that_sets_a_shared_setting_is_refused_in_its_own_file(family: Path) -> None:
    document = shard_file(SHARDS["shard-a"])
    document["config"]["modelstack:nodePools"] = []
    write_stack(family, "shard-a", document)
    (found,) = problems(family, "shard-a")
    assert (
        found.startswith("Pulumi.shard-a.yaml:")
        and "modelstack:nodePools: shared by the shards of base base" in found
    )
    assert "set it in Pulumi.base.yaml only" in found


def test_a_shard_in_another_namespace_than_its_base_is_refused(family: Path) -> None:
    document = shard_file(SHARDS["shard-a"])
    document["config"]["modelstack:namespace"] = "ml-elsewhere"
    write_stack(family, "shard-a", document)
    (found,) = problems(family, "shard-a")
    assert "modelstack:namespace: 'ml-elsewhere' is not the namespace of base base ('ml-dev')" in found


def test_a_shard_rendering_into_its_base_directory_is_refused(family: Path) -> None:
    document = shard_file(SHARDS["shard-a"])
    document["config"]["modelstack:kubernetes"]["renderDir"] = "build/base-manifests"
    write_stack(family, "shard-a", document)
    (found,) = problems(family, "shard-a")
    assert "renderDir: 'build/base-manifests' is the base's renderDir" in found


def test_a_shard_whose_base_is_not_a_base_is_refused(family: Path) -> None:
    document = shard_file(SHARDS["shard-a"])
    document["config"]["modelstack:shard"]["base"] = "dev"
    write_stack(family, "shard-a", document)
    found = problems(family, "shard-a")
    assert any("stack dev has role all, not base" in p for p in found), found


def test_a_shard_whose_base_has_no_stack_file_is_refused(family: Path) -> None:
    document = shard_file(SHARDS["shard-a"])
    document["config"]["modelstack:shard"]["base"] = "nowhere"
    write_stack(family, "shard-a", document)
    (found,) = problems(family, "shard-a")
    assert "there is no Pulumi.nowhere.yaml in this project" in found


def test_a_model_two_shards_select_is_refused_where_the_model_is(family: Path) -> None:
    write_shard(family, "shard-b", [*SHARDS["shard-b"], "team-assistant"])
    for stack in SHARDS:
        (found,) = problems(family, stack)
        assert found.startswith(
            "models.yaml:12:3: models.llm-chat: model llm-chat is selected by shard-a and shard-b"
        )


def test_a_model_no_shard_selects_is_refused(family: Path) -> None:
    write_shard(family, "shard-b", ["team-vision"])
    (found,) = problems(family, "shard-a")
    assert (
        "no models stack of base base (shard-a, shard-b) selects model text-embedder (owner 'team-search')"
        in found
    )


def test_every_shard_plans_capacity_with_the_models_of_all_shards(family: Path) -> None:
    # gpu-h100 holds 2 nodes × 8 GPUs; llm-chat (shard-a) asks 3 at minimum. Another shard's model on it
    # asking 14 more fits alone, not together: both shards must refuse it.
    catalog = yaml.safe_load((family / "models.yaml").read_text(encoding="utf-8"))
    greedy = catalog["models"]["vision-detector"]["versions"]["v7"]
    greedy.update(
        nodePool="gpu-h100",
        resources={"cpu": "4", "memory": "16Gi", "gpu": 1},
        replicas={"min": 14, "max": 14},
    )
    (family / "models.yaml").write_text(yaml.safe_dump(catalog, sort_keys=False), encoding="utf-8")
    for stack in SHARDS:
        found = problems(family, stack)
        assert any("gpu-h100" in p and "minimum" in p for p in found), found


def test_role_models_needs_a_base_and_a_selector() -> None:
    with pytest.raises(ValidationError, match="role models needs base and models"):
        ShardConfig.model_validate({"role": "models"})


def test_only_role_models_takes_a_base_or_a_selector() -> None:
    with pytest.raises(ValidationError, match="base only apply to role models"):
        ShardConfig.model_validate({"role": "base", "base": "other"})


def test_an_empty_selector_is_refused() -> None:
    with pytest.raises(ValidationError, match="a selector needs owners, names or labels"):
        ModelSelector.model_validate({})


@pytest.mark.parametrize(
    ("selector", "name", "owner", "labels", "selected"),
    [
        ({"owners": ["team-a"]}, "m", "team-a", {}, True),
        ({"owners": ["team-a"]}, "m", "team-b", {}, False),
        ({"names": ["llm-*"]}, "llm-chat", "", {}, True),
        ({"names": ["llm-*"]}, "vision-llm", "", {}, False),
        ({"names": ["model-?"]}, "model-7", "", {}, True),
        ({"labels": {"tier": "gold", "zone": "a"}}, "m", "", {"tier": "gold", "zone": "a", "x": "y"}, True),
        ({"labels": {"tier": "gold", "zone": "a"}}, "m", "", {"tier": "gold"}, False),
        ({"owners": ["team-a"], "names": ["llm-*"]}, "llm-x", "team-z", {}, True),
    ],
)
def test_a_selector_picks_a_model_matching_any_of_its_lists(
    selector: dict[str, object], name: str, owner: str, labels: dict[str, str], selected: bool
) -> None:
    assert ModelSelector.model_validate(selector).selects(name, owner, labels) is selected
