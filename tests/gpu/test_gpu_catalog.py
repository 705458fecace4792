"""Specification of the built-in GPU catalog (components/facts/gpus.yaml)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.facts.gpus import (
    GpuModel,
    all_gpus,
    base_product,
    gfd_label_value,
    gpu_by_key,
    gpu_by_product,
    gpu_keys,
    unknown_gpu_message,
)

MIG_GPUS = tuple(gpu for gpu in all_gpus() if gpu.mig_capable)
ALL_PRODUCTS = [(gpu.key, product) for gpu in all_gpus() for product in gpu.products]


def test_the_catalog_knows_every_mig_gpu_in_the_facts_and_some_without_mig() -> None:
    assert set(gpu_keys()) >= {
        "A30-24GB",
        "A100-40GB",
        "A100-80GB",
        "H100-80GB",
        "H100-94GB",
        "H100-96GB",
        "H200-141GB",
        "GH200-144GB",
        "B200-180GB",
        "GB200",
        "L4",
        "L40S",
        "T4",
    }


@pytest.mark.parametrize("key", ["L4", "L40S", "T4"])
def test_gpus_without_mig_have_no_profiles(key: str) -> None:
    gpu = gpu_by_key(key)
    assert gpu is not None and not gpu.mig_capable and gpu.profiles == ()


def test_h100_80gb_profiles_match_nvidia_smi_lgipp() -> None:
    gpu = gpu_by_key("H100-80GB")
    assert gpu is not None
    table = {
        p.name: (p.nvml_id, p.compute_slices, p.memory_slices, p.max_count, p.starts) for p in gpu.profiles
    }
    assert table == {
        "1g.10gb": (19, 1, 1, 7, (0, 1, 2, 3, 4, 5, 6)),
        "1g.10gb+me": (20, 1, 1, 1, (0, 1, 2, 3, 4, 5, 6)),
        "1g.20gb": (15, 1, 2, 4, (0, 2, 4, 6)),
        "2g.20gb": (14, 2, 2, 3, (0, 2, 4)),
        "3g.40gb": (9, 3, 4, 2, (0, 4)),
        "4g.40gb": (5, 4, 4, 1, (0,)),
        "7g.80gb": (0, 7, 8, 1, (0,)),
    }


def test_a30_has_four_compute_and_four_memory_slices_with_its_own_profile_ids() -> None:
    gpu = gpu_by_key("A30-24GB")
    assert gpu is not None
    assert (gpu.compute_slices, gpu.memory_slices) == (4, 4)
    assert {p.name: p.nvml_id for p in gpu.profiles} == {
        "1g.6gb": 14,
        "1g.6gb+me": 21,
        "2g.12gb": 5,
        "2g.12gb+me": 6,
        "4g.24gb": 0,
    }


def test_profile_specific_minimum_drivers_override_the_gpus() -> None:
    gpu = gpu_by_key("A100-40GB")
    assert gpu is not None
    drivers = {p.name: p.min_driver for p in gpu.profiles}
    assert (drivers["1g.10gb"], drivers["1g.5gb+me"], drivers["3g.20gb"]) == (525, 470, 450)


@pytest.mark.parametrize(
    ("key", "driver"),
    [
        ("A100-80GB", 450),
        ("A30-24GB", 460),
        ("H100-80GB", 525),
        ("H200-141GB", 550),
        ("B200-180GB", 570),
        ("GB200", 570),
    ],
)
def test_minimum_drivers_follow_the_mig_user_guide(key: str, driver: int) -> None:
    gpu = gpu_by_key(key)
    assert gpu is not None and gpu.min_driver == driver


@pytest.mark.parametrize("gpu", MIG_GPUS, ids=lambda gpu: gpu.key)
def test_every_profile_is_named_compute_g_dot_memory_gb(gpu: GpuModel) -> None:
    for profile in gpu.profiles:
        assert profile.name.startswith(f"{profile.compute_slices}g.")
        assert profile.name.endswith("gb+me" if profile.media_extensions else "gb")


@pytest.mark.parametrize("gpu", MIG_GPUS, ids=lambda gpu: gpu.key)
def test_every_placement_stays_inside_the_gpus_memory_slices(gpu: GpuModel) -> None:
    for profile in gpu.profiles:
        assert max(profile.starts) + profile.memory_slices <= gpu.memory_slices


@pytest.mark.parametrize("gpu", MIG_GPUS, ids=lambda gpu: gpu.key)
def test_only_the_media_extension_profiles_end_in_plus_me_and_allow_one_instance(gpu: GpuModel) -> None:
    for profile in gpu.profiles:
        assert profile.media_extensions == profile.name.endswith("+me")
        if profile.media_extensions:
            assert profile.max_count == 1


@pytest.mark.parametrize("gpu", MIG_GPUS, ids=lambda gpu: gpu.key)
def test_the_whole_gpu_profile_states_the_gpus_memory(gpu: GpuModel) -> None:
    whole = max(gpu.profiles, key=lambda p: p.compute_slices)
    assert whole.name == f"{gpu.compute_slices}g.{gpu.memory_gb}gb"


@pytest.mark.parametrize(("key", "product"), ALL_PRODUCTS, ids=[p for _, p in ALL_PRODUCTS])
def test_every_product_label_leads_back_to_its_gpu(key: str, product: str) -> None:
    gpu = gpu_by_product(product)
    assert gpu is not None and gpu.key == key


def test_a_product_label_rewritten_under_single_strategy_leads_back_to_the_gpu() -> None:
    gpu = gpu_by_product("A100-SXM4-40GB-MIG-1g.5gb")
    assert gpu is not None and gpu.key == "A100-40GB"


def test_an_nvml_device_name_with_spaces_leads_to_the_gpu() -> None:
    gpu = gpu_by_product("NVIDIA H100 80GB HBM3")
    assert gpu is not None and gpu.key == "H100-80GB"


def test_an_unknown_product_has_no_gpu() -> None:
    assert gpu_by_product("NVIDIA-RTX-4090") is None


def test_gfd_label_value_turns_spaces_into_dashes_and_drops_invalid_characters() -> None:
    assert gfd_label_value("  NVIDIA A100 80GB PCIe  ") == "NVIDIA-A100-80GB-PCIe"
    assert gfd_label_value("GH200 (144G) HBM3e") == "GH200-144G-HBM3e"


@given(st.sampled_from([p for _, p in ALL_PRODUCTS]), st.sampled_from(["1g.5gb", "3g.40gb", "7g.186gb"]))
def test_base_product_removes_exactly_the_single_strategy_suffix(product: str, profile: str) -> None:
    assert base_product(f"{product}-MIG-{profile}") == product
    assert base_product(product) == product


def test_unknown_gpu_message_suggests_the_closest_keys_and_lists_all() -> None:
    message = unknown_gpu_message("A100-40G")
    assert message.startswith("unknown GPU 'A100-40G'; did you mean 'A100-40GB'")
    assert all(key in message for key in gpu_keys())


def test_gpu_keys_are_unique_and_in_file_order() -> None:
    keys = gpu_keys()
    assert len(set(keys)) == len(keys)
    assert keys[0] == "A30-24GB"


def test_the_catalog_is_loaded_once() -> None:
    assert all_gpus() is all_gpus()
