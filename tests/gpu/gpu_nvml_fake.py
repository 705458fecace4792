"""A stand-in for the ``pynvml`` module, answering from JSON in tests/data/nvml/.

It replaces the module at the boundary components.gpu.nvml imports, so the real NvmlReader code
runs unchanged. Only the query functions the reader uses exist; calling anything else fails.
"""

# Method and attribute names mirror pynvml's so the fake can stand in for the module.
# ruff: noqa: N802, N815

from __future__ import annotations

import copy
import ctypes
import json
import types
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data" / "nvml"

NVML_SUCCESS = 0
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
_MESSAGES = {
    NVML_ERROR_INVALID_ARGUMENT: "Invalid Argument",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_FUNCTION_NOT_FOUND: "Function Not Found",
}


class FakeNVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return _MESSAGES.get(self.value, f"NVML error {self.value}")


class _Placement(ctypes.Structure):
    _fields_ = [("start", ctypes.c_uint), ("size", ctypes.c_uint)]


def load_device(file_name: str) -> dict[str, Any]:
    device: dict[str, Any] = json.loads((DATA / file_name).read_text())
    return device


class FakePynvml(types.ModuleType):
    """Answers like pynvml on a node holding ``devices`` (dicts in the tests/data/nvml shape)."""

    NVMLError = FakeNVMLError
    c_nvmlGpuInstancePlacement_t = _Placement
    NVML_DEVICE_MIG_ENABLE = 1
    NVML_GPU_INSTANCE_PROFILE_COUNT = 0x12
    NVML_ERROR_INVALID_ARGUMENT = NVML_ERROR_INVALID_ARGUMENT
    NVML_ERROR_NOT_SUPPORTED = NVML_ERROR_NOT_SUPPORTED
    NVML_ERROR_FUNCTION_NOT_FOUND = NVML_ERROR_FUNCTION_NOT_FOUND

    def __init__(
        self,
        devices: list[dict[str, Any]],
        driver_version: str = "550.54.15",
        init_error: int | None = None,
        has_v2_profile_info: bool = True,
    ) -> None:
        super().__init__("pynvml")
        self.devices = copy.deepcopy(devices)
        self.driver_version = driver_version
        self.init_error = init_error
        self.has_v2_profile_info = has_v2_profile_info
        self.calls: list[str] = []
        self.initialised = False

    def _call(self, name: str) -> None:
        self.calls.append(name)

    def nvmlInit(self) -> None:
        self._call("nvmlInit")
        if self.init_error is not None:
            raise FakeNVMLError(self.init_error)
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self._call("nvmlShutdown")
        self.initialised = False

    def nvmlSystemGetDriverVersion(self) -> str:
        self._call("nvmlSystemGetDriverVersion")
        return self.driver_version

    def nvmlDeviceGetCount(self) -> int:
        self._call("nvmlDeviceGetCount")
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        self._call("nvmlDeviceGetHandleByIndex")
        return index

    def nvmlDeviceGetName(self, handle: int) -> str:
        self._call("nvmlDeviceGetName")
        return str(self.devices[handle]["name"])

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> types.SimpleNamespace:
        self._call("nvmlDeviceGetMemoryInfo")
        total = int(self.devices[handle]["memory_total_bytes"])
        return types.SimpleNamespace(total=total, free=total, used=0)

    def nvmlDeviceGetMigMode(self, handle: int) -> list[int]:
        self._call("nvmlDeviceGetMigMode")
        mode = self.devices[handle].get("mig_mode")
        if mode is None:
            raise FakeNVMLError(NVML_ERROR_NOT_SUPPORTED)
        return list(mode)

    def nvmlDeviceGetGpuInstanceProfileInfo(self, handle: int, profile: int, version: int = 2) -> Any:
        self._call("nvmlDeviceGetGpuInstanceProfileInfo")
        if version == 2 and not self.has_v2_profile_info:
            raise FakeNVMLError(NVML_ERROR_FUNCTION_NOT_FOUND)
        info = self.devices[handle].get("gpu_instance_profiles", {}).get(str(profile))
        if info is None:
            raise FakeNVMLError(NVML_ERROR_NOT_SUPPORTED)
        fields = dict(info)
        if version == 1:
            del fields["name"]  # the v1 struct has no name
        else:
            fields["name"] = fields["name"].encode()  # c_char arrays come back as bytes
        return types.SimpleNamespace(**fields)

    def nvmlDeviceGetGpuInstancePossiblePlacements(
        self, handle: int, profile_id: int, placements: Any, count_ref: Any
    ) -> int:
        self._call("nvmlDeviceGetGpuInstancePossiblePlacements")
        known = self.devices[handle].get("possible_placements", {}).get(str(profile_id))
        if known is None:
            raise FakeNVMLError(NVML_ERROR_NOT_SUPPORTED)
        count_ref._obj.value = len(known)
        if placements is not None:
            for slot, (start, size) in zip(placements, known, strict=False):
                slot.start, slot.size = start, size
        return NVML_SUCCESS
