"""Specification of the read-only NVML inventory (components.gpu.nvml), against a faked pynvml."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from gpu_nvml_fake import (
    NVML_ERROR_DRIVER_NOT_LOADED,
    NVML_ERROR_LIBRARY_NOT_FOUND,
    FakePynvml,
    load_device,
)

import components.gpu.nvml as nvml_module
from components.gpu.nvml import (
    NvmlInventory,
    NvmlReader,
    NvmlUnavailableError,
    compare_with_catalog,
    read_inventory,
)

H100 = load_device("h100-80gb-hbm3.json")
A100 = load_device("a100-sxm4-40gb.json")
L4: dict[str, Any] = {"name": "NVIDIA L4", "memory_total_bytes": 24152899584, "mig_mode": None}


def inventory_of(*devices: dict[str, Any], **options: Any) -> NvmlInventory:
    return read_inventory(NvmlReader(FakePynvml(list(devices), **options)))


# --- reading --------------------------------------------------------------------------------------


def test_the_inventory_lists_every_gpu_with_its_gfd_product_label_and_memory() -> None:
    inventory = inventory_of(H100, A100)
    assert [(gpu.index, gpu.product_label, gpu.memory_mib) for gpu in inventory.gpus] == [
        (0, "NVIDIA-H100-80GB-HBM3", 81559),
        (1, "NVIDIA-A100-SXM4-40GB", 40960),
    ]


def test_the_inventory_reads_the_driver_version() -> None:
    assert inventory_of(H100, driver_version="535.104.05").driver_version == "535.104.05"


def test_the_inventory_reads_current_and_pending_mig_mode() -> None:
    device = dict(H100, mig_mode=[0, 1])
    gpu = inventory_of(device).gpus[0]
    assert (gpu.mig_current, gpu.mig_pending) == (False, True)


def test_a_gpu_without_mig_has_no_mig_mode_and_no_profiles() -> None:
    gpu = inventory_of(L4).gpus[0]
    assert (gpu.mig_current, gpu.profiles, gpu.profile_note) == (None, (), "the GPU has no MIG mode")


def test_profiles_carry_id_name_slices_maximum_and_placement_starts() -> None:
    gpu = inventory_of(H100).gpus[0]
    three_g = next(profile for profile in gpu.profiles if profile.nvml_id == 9)
    assert (
        three_g.name,
        three_g.compute_slices,
        three_g.memory_slices,
        three_g.max_instances,
        three_g.placement_starts,
    ) == ("3g.40gb", 3, 4, 2, (0, 4))


def test_every_profile_index_the_gpu_supports_is_read() -> None:
    assert sorted(profile.nvml_id for profile in inventory_of(H100).gpus[0].profiles) == [
        0,
        5,
        9,
        14,
        15,
        19,
        20,
    ]


def test_without_the_v2_profile_call_profiles_are_read_from_v1_without_names() -> None:
    profiles = inventory_of(H100, has_v2_profile_info=False).gpus[0].profiles
    assert len(profiles) == 7 and all(profile.name is None for profile in profiles)


def test_without_placements_memory_slices_and_starts_are_unknown() -> None:
    device = dict(H100, possible_placements={})
    profile = inventory_of(device).gpus[0].profiles[0]
    assert (profile.memory_slices, profile.placement_starts) == (None, None)


def test_a_mig_disabled_gpu_whose_profiles_cannot_be_read_says_why() -> None:
    device = dict(H100, mig_mode=[0, 0], gpu_instance_profiles={})
    assert "MIG mode is disabled" in (inventory_of(device).gpus[0].profile_note or "")


def test_the_inventory_serialises_to_plain_data_that_yaml_and_json_accept() -> None:
    document = inventory_of(H100).as_dict()
    one_g = next(profile for profile in document["gpus"][0]["profiles"] if profile["nvml_id"] == 19)
    assert one_g["placement_starts"] == [0, 1, 2, 3, 4, 5, 6]
    assert yaml.safe_load(yaml.safe_dump(document)) == json.loads(json.dumps(document)) == document


def test_reading_only_queries_nvml_and_always_shuts_it_down() -> None:
    fake = FakePynvml([H100, A100, L4])
    read_inventory(NvmlReader(fake))
    assert all(re.fullmatch(r"nvml(Init|Shutdown|\w*Get\w*)", call) for call in fake.calls), set(fake.calls)
    assert fake.calls[-1] == "nvmlShutdown"


def test_the_nvml_module_source_calls_no_nvml_function_that_changes_state() -> None:
    source = Path(nvml_module.__file__).read_text()
    called = set(re.findall(r"\bnvml[A-Z]\w*(?=\()", source))
    assert called and all(re.fullmatch(r"nvml(Init|Shutdown|\w*Get\w*)", name) for name in called), called


# --- failing cleanly ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (NVML_ERROR_LIBRARY_NOT_FOUND, "NVML Shared Library Not Found"),
        (NVML_ERROR_DRIVER_NOT_LOADED, "Driver Not Loaded"),
    ],
)
def test_no_library_or_driver_is_a_typed_one_line_error(error: int, text: str) -> None:
    with pytest.raises(NvmlUnavailableError) as raised:
        inventory_of(H100, init_error=error)
    assert text in str(raised.value) and "\n" not in str(raised.value)


def test_no_gpu_is_a_typed_one_line_error() -> None:
    with pytest.raises(NvmlUnavailableError, match="no NVIDIA GPU"):
        inventory_of()


def test_a_missing_pynvml_package_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # a None entry makes `import pynvml` fail
    with pytest.raises(NvmlUnavailableError, match="nvidia-ml-py"):
        NvmlReader()


# --- comparing with the catalog -------------------------------------------------------------------


def test_hardware_matching_the_catalog_has_no_differences() -> None:
    assert compare_with_catalog(inventory_of(H100, A100, L4)) == []


def test_an_unknown_product_is_a_difference() -> None:
    (difference,) = compare_with_catalog(inventory_of(dict(L4, name="NVIDIA RTX 4090")))
    assert difference.startswith("GPU 0: product 'NVIDIA-RTX-4090' is not in the catalog")


def test_a_missing_profile_is_a_difference() -> None:
    profiles = {index: info for index, info in H100["gpu_instance_profiles"].items() if info["id"] != 15}
    assert compare_with_catalog(inventory_of(dict(H100, gpu_instance_profiles=profiles))) == [
        "GPU 0 (H100-80GB): profile 1g.20gb (NVML id 15) is missing"
    ]


def test_a_different_maximum_is_a_difference() -> None:
    device = load_device("h100-80gb-hbm3.json")
    device["gpu_instance_profiles"]["0"]["instanceCount"] = 6
    assert compare_with_catalog(inventory_of(device)) == [
        "GPU 0 (H100-80GB): profile 1g.10gb: max instances catalog 7 != NVML 6"
    ]


def test_a_different_compute_slice_count_is_a_difference() -> None:
    device = load_device("a100-sxm4-40gb.json")
    device["gpu_instance_profiles"]["2"]["sliceCount"] = 4
    assert compare_with_catalog(inventory_of(device)) == [
        "GPU 0 (A100-40GB): profile 3g.20gb: compute slices catalog 3 != NVML 4"
    ]


def test_different_placements_are_a_difference() -> None:
    device = load_device("h100-80gb-hbm3.json")
    device["possible_placements"]["9"] = [[0, 4]]
    assert compare_with_catalog(inventory_of(device)) == [
        "GPU 0 (H100-80GB): profile 3g.40gb: placement starts catalog [0, 4] != NVML [0]"
    ]


def test_a_profile_the_catalog_lacks_is_a_difference() -> None:
    device = load_device("h100-80gb-hbm3.json")
    device["gpu_instance_profiles"]["10"] = dict(
        device["gpu_instance_profiles"]["0"], id=21, name="MIG 1g.10gb+gfx"
    )
    assert compare_with_catalog(inventory_of(device)) == [
        "GPU 0 (H100-80GB): NVML reports profile 1g.10gb+gfx (id 21) that the catalog lacks"
    ]


def test_v1_profiles_without_names_are_matched_by_nvml_id() -> None:
    assert compare_with_catalog(inventory_of(H100, has_v2_profile_info=False)) == []


def test_a_driver_older_than_the_gpus_minimum_is_a_difference() -> None:
    (difference,) = compare_with_catalog(inventory_of(H100, driver_version="470.82.01"))
    assert "driver 470.82.01 is older than R525" in difference


def test_unreadable_profiles_are_not_reported_as_differences() -> None:
    device = dict(H100, mig_mode=[0, 0], gpu_instance_profiles={})
    assert compare_with_catalog(inventory_of(device)) == []
