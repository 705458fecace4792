"""Specification of MIG naming: device-plugin resources, GFD labels and mig-parted configs."""

from __future__ import annotations

import re
from random import Random

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from components.facts.gpus import GpuModel, all_gpus, gpu_by_key
from components.facts.mig import (
    MigStrategy,
    mig_config_name,
    mig_parted_config,
    mig_parted_document,
    resource_name,
    single_strategy_problems,
    single_strategy_product_label,
    single_strategy_product_labels,
    strategy_problems,
)

ALL_PROFILE_NAMES = sorted({profile.name for gpu in all_gpus() for profile in gpu.profiles})
# Kubernetes extended resource names: a DNS prefix, "/", then a qualified name.
EXTENDED_RESOURCE = re.compile(r"^nvidia\.com/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

profile_names = st.sampled_from(ALL_PROFILE_NAMES)
layouts = st.dictionaries(profile_names, st.integers(0, 7), max_size=5)


# --- resource_name --------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["none", "single", MigStrategy.NONE, MigStrategy.SINGLE])
@given(profile=st.one_of(st.none(), profile_names))
def test_none_and_single_strategies_request_whole_gpu_resources(
    strategy: str | MigStrategy, profile: str | None
) -> None:
    assert resource_name(strategy, profile) == "nvidia.com/gpu"


def test_mixed_strategy_requests_the_profile_resource() -> None:
    assert resource_name("mixed", "3g.40gb") == "nvidia.com/mig-3g.40gb"


def test_mixed_strategy_writes_plus_as_dot() -> None:
    assert resource_name(MigStrategy.MIXED, "1g.10gb+me") == "nvidia.com/mig-1g.10gb.me"


@given(profile_names)
def test_every_catalog_profile_has_a_valid_mixed_resource_name(profile: str) -> None:
    assert EXTENDED_RESOURCE.match(resource_name("mixed", profile))


def test_mixed_strategy_without_a_profile_is_an_error() -> None:
    with pytest.raises(ValueError, match="needs a profile"):
        resource_name("mixed")


def test_an_unknown_strategy_is_an_error_listing_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown MIG strategy 'mix' \(known: none, single, mixed\)"):
        resource_name("mix", "1g.10gb")


# --- single strategy ------------------------------------------------------------------------------


def test_single_strategy_accepts_one_uniform_profile() -> None:
    assert single_strategy_problems({"1g.10gb": 7}) == []


def test_single_strategy_ignores_profiles_with_zero_count() -> None:
    assert single_strategy_problems({"1g.10gb": 7, "3g.40gb": 0}) == []


def test_single_strategy_refuses_mixed_profiles() -> None:
    assert single_strategy_problems({"1g.10gb": 2, "2g.20gb": 1}) == [
        "the single MIG strategy needs one uniform profile per node; the layout mixes 1g.10gb, 2g.20gb "
        "(use the mixed strategy)"
    ]


def test_single_strategy_refuses_an_empty_layout() -> None:
    assert single_strategy_problems({}) != []


@given(layouts)
def test_single_strategy_accepts_exactly_the_layouts_with_one_profile_in_use(layout: dict[str, int]) -> None:
    in_use = [name for name, count in layout.items() if count]
    assert (single_strategy_problems(layout) == []) == (len(in_use) == 1)


def test_none_strategy_refuses_a_layout_with_mig_instances() -> None:
    assert strategy_problems("none", {"1g.10gb": 1})


def test_none_strategy_accepts_an_empty_layout() -> None:
    assert strategy_problems("none", {}) == []


@given(layouts)
def test_mixed_strategy_accepts_any_layout(layout: dict[str, int]) -> None:
    assert strategy_problems("mixed", layout) == []


# --- GFD product label under single ---------------------------------------------------------------


def test_single_strategy_product_label_appends_mig_and_the_profile() -> None:
    assert single_strategy_product_label("A100-SXM4-40GB", "1g.5gb") == "A100-SXM4-40GB-MIG-1g.5gb"


def test_single_strategy_product_label_drops_characters_labels_cannot_hold() -> None:
    assert (
        single_strategy_product_label("NVIDIA-H100-80GB-HBM3", "1g.10gb+me")
        == "NVIDIA-H100-80GB-HBM3-MIG-1g.10gbme"
    )


@given(st.sampled_from([(gpu, profile.name) for gpu in all_gpus() for profile in gpu.profiles]))
def test_every_single_strategy_product_label_is_a_valid_label_value(case: tuple[GpuModel, str]) -> None:
    gpu, profile = case
    for label in single_strategy_product_labels(gpu, profile):
        assert LABEL_VALUE.match(label) and len(label) <= 63, label


def test_single_strategy_product_labels_cover_every_product_spelling_of_the_gpu() -> None:
    gpu = gpu_by_key("A100-40GB")
    assert gpu is not None
    assert "NVIDIA-A100-SXM4-40GB-MIG-3g.20gb" in single_strategy_product_labels(gpu, "3g.20gb")
    assert len(single_strategy_product_labels(gpu, "3g.20gb")) == len(gpu.products)


# --- mig-parted -----------------------------------------------------------------------------------


def test_mig_parted_config_has_mig_parteds_shape() -> None:
    assert mig_parted_config({"3g.40gb": 1, "1g.10gb": 2, "2g.20gb": 1}, "modelstack-balanced") == {
        "modelstack-balanced": [
            {
                "devices": "all",
                "mig-enabled": True,
                "mig-devices": {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1},
            }
        ]
    }


def test_mig_parted_config_leaves_out_zero_counts() -> None:
    entry = mig_parted_config({"1g.10gb": 7, "3g.40gb": 0}, "x")
    assert entry["x"][0]["mig-devices"] == {"1g.10gb": 7}


def test_mig_parted_document_is_a_version_v1_file_with_every_config() -> None:
    document = mig_parted_document(
        mig_parted_config({"1g.10gb": 7}, "a"), mig_parted_config({"7g.80gb": 1}, "b")
    )
    assert document["version"] == "v1"
    assert list(document["mig-configs"]) == ["a", "b"]  # type: ignore[call-overload]


def test_mig_parted_document_round_trips_through_yaml_with_plus_me_keys_intact() -> None:
    document = mig_parted_document(mig_parted_config({"1g.10gb+me": 1}, "me"))
    assert yaml.safe_load(yaml.safe_dump(document)) == document


def test_mig_parted_document_refuses_two_different_configs_with_one_name() -> None:
    with pytest.raises(ValueError, match="both named 'a'"):
        mig_parted_document(mig_parted_config({"1g.10gb": 7}, "a"), mig_parted_config({"7g.80gb": 1}, "a"))


def test_mig_config_name_uses_the_pool_when_given() -> None:
    assert mig_config_name({"1g.10gb": 7}, pool="inference-h100") == "modelstack-inference-h100"


def test_mig_config_name_refuses_a_pool_that_is_not_a_label_value() -> None:
    with pytest.raises(ValueError, match="not a valid label value"):
        mig_config_name({}, pool="bad pool!")


def test_mig_config_name_is_spelled_from_the_layout() -> None:
    assert mig_config_name({"3g.40gb": 1, "1g.10gb+me": 1}) == "modelstack-1x1g.10gb.me-1x3g.40gb"


@given(layouts)
def test_mig_config_name_is_a_valid_label_value(layout: dict[str, int]) -> None:
    name = mig_config_name(layout)
    assert LABEL_VALUE.match(name) and len(name) <= 63


@given(layouts, st.randoms())
def test_mig_config_name_depends_only_on_the_layout_not_its_order(
    layout: dict[str, int], random: Random
) -> None:
    items = list(layout.items())
    random.shuffle(items)
    assert mig_config_name(dict(items)) == mig_config_name(layout)


def _in_use(layout: dict[str, int]) -> dict[str, int]:
    return {name: count for name, count in layout.items() if count}


@given(layouts, layouts)
def test_different_layouts_get_different_mig_config_names(
    first: dict[str, int], second: dict[str, int]
) -> None:
    if _in_use(first) != _in_use(second):
        assert mig_config_name(first) != mig_config_name(second)
