"""Read-only NVML inventory of the local GPUs, and how it differs from the built-in catalog.

Every NVML call goes through :class:`NvmlReader`, which only *queries* (names, memory, MIG mode,
GPU-instance profiles and placements). Nothing here changes MIG mode or any other setting. The
``pynvml`` module is looked up when a reader is made, so tests replace it in ``sys.modules``.
"""

from __future__ import annotations

import ctypes
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

from components.facts.gpus import GpuModel, MigProfile, gfd_label_value, gpu_by_product, gpu_keys

_MIB = 1024 * 1024
_PROFILE_INDEX_COUNT_FALLBACK = 0x12  # NVML_GPU_INSTANCE_PROFILE_COUNT in NVML 12.x/13.x
_MIG_NAME_PREFIX = "MIG "


class NvmlUnavailableError(RuntimeError):
    """NVML cannot answer on this machine (no library, no driver, no GPU); ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class NvmlProfile:
    """A GPU-instance profile as NVML reports it for one GPU."""

    nvml_id: int
    name: str | None  # None when only the v1 struct (no name field) is available
    compute_slices: int
    memory_slices: int | None  # from the placement size; None when placements could not be read
    memory_mib: int
    max_instances: int
    multiprocessors: int
    placement_starts: tuple[int, ...] | None


@dataclass(frozen=True, slots=True)
class NvmlGpu:
    index: int
    name: str
    product_label: str  # what GFD would write into nvidia.com/gpu.product
    memory_mib: int
    mig_current: bool | None  # None: the GPU has no MIG mode at all
    mig_pending: bool | None
    profiles: tuple[NvmlProfile, ...]
    profile_note: str | None  # why profiles could not be read, if they could not


@dataclass(frozen=True, slots=True)
class NvmlInventory:
    driver_version: str
    gpus: tuple[NvmlGpu, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain data (dicts, lists, scalars) that both YAML and JSON can write."""
        plain: dict[str, Any] = _plain(asdict(self))
        return plain


def _plain(value: Any) -> Any:
    # yaml.safe_dump refuses tuples, so every sequence becomes a list.
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


# --- the module boundary --------------------------------------------------------------------------


class NvmlReader:
    """The only code that calls ``pynvml``; every method is a query."""

    def __init__(self, module: ModuleType | None = None) -> None:
        self._nvml = module if module is not None else _import_pynvml()

    @contextmanager
    def session(self) -> Iterator[NvmlReader]:
        try:
            self._nvml.nvmlInit()
        except self._nvml.NVMLError as error:
            message = f"NVML is not usable here: {error} (is the NVIDIA driver installed?)"
            raise NvmlUnavailableError(message) from None
        try:
            yield self
        finally:
            self._nvml.nvmlShutdown()

    def error_code(self, error: BaseException) -> int | None:
        return getattr(error, "value", None) if isinstance(error, self._nvml.NVMLError) else None

    def is_nvml_error(self, error: BaseException) -> bool:
        return isinstance(error, self._nvml.NVMLError)

    def constant(self, name: str, default: int) -> int:
        return int(getattr(self._nvml, name, default))

    def driver_version(self) -> str:
        return _text(self._nvml.nvmlSystemGetDriverVersion())

    def device_count(self) -> int:
        return int(self._nvml.nvmlDeviceGetCount())

    def handle(self, index: int) -> object:
        return self._nvml.nvmlDeviceGetHandleByIndex(index)

    def name(self, handle: object) -> str:
        return _text(self._nvml.nvmlDeviceGetName(handle))

    def memory_total_bytes(self, handle: object) -> int:
        return int(self._nvml.nvmlDeviceGetMemoryInfo(handle).total)

    def mig_mode(self, handle: object) -> tuple[int, int]:
        current, pending = self._nvml.nvmlDeviceGetMigMode(handle)
        return int(current), int(pending)

    def profile_info(self, handle: object, profile_index: int) -> Any:
        """The v2 profile struct (has ``name``), falling back to v1 on drivers without the V call."""
        try:
            return self._nvml.nvmlDeviceGetGpuInstanceProfileInfo(handle, profile_index, 2)
        except self._nvml.NVMLError as error:
            if self.error_code(error) != self.constant("NVML_ERROR_FUNCTION_NOT_FOUND", 13):
                raise
        return self._nvml.nvmlDeviceGetGpuInstanceProfileInfo(handle, profile_index, 1)

    def possible_placements(self, handle: object, profile_id: int) -> list[tuple[int, int]]:
        """(start, size) of every placement NVML allows for ``profile_id`` (memory slices)."""
        count = ctypes.c_uint(0)
        # First call with no buffer asks only for the count, as the NVML API documents.
        self._nvml.nvmlDeviceGetGpuInstancePossiblePlacements(handle, profile_id, None, ctypes.byref(count))
        buffer = (self._nvml.c_nvmlGpuInstancePlacement_t * max(count.value, 1))()
        self._nvml.nvmlDeviceGetGpuInstancePossiblePlacements(handle, profile_id, buffer, ctypes.byref(count))
        return [(int(buffer[i].start), int(buffer[i].size)) for i in range(count.value)]


def _import_pynvml() -> ModuleType:
    try:
        return importlib.import_module("pynvml")
    except ImportError:
        raise NvmlUnavailableError("the nvidia-ml-py package (pynvml) is not installed") from None


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


# --- reading the inventory ------------------------------------------------------------------------


def read_inventory(reader: NvmlReader | None = None) -> NvmlInventory:
    """Every local GPU with its MIG mode and supported GPU-instance profiles.

    Raises :class:`NvmlUnavailableError` when there is no NVML library, no driver or no GPU.
    """
    nvml = reader if reader is not None else NvmlReader()
    with nvml.session():
        try:
            count = nvml.device_count()
            if count == 0:
                raise NvmlUnavailableError("NVML found no NVIDIA GPU on this machine")
            gpus = tuple(_read_gpu(nvml, index) for index in range(count))
            return NvmlInventory(nvml.driver_version(), gpus)
        except Exception as error:
            if nvml.is_nvml_error(error):
                raise NvmlUnavailableError(f"an NVML query failed: {error}") from None
            raise


def _read_gpu(nvml: NvmlReader, index: int) -> NvmlGpu:
    handle = nvml.handle(index)
    name = nvml.name(handle)
    current, pending = _read_mig_mode(nvml, handle)
    profiles: tuple[NvmlProfile, ...] = ()
    note: str | None = None
    if current is None:
        note = "the GPU has no MIG mode"
    else:
        profiles, note = _read_profiles(nvml, handle)
        if not profiles and not current:
            note = note or "MIG mode is disabled; NVML may list GPU-instance profiles only with MIG enabled"
    return NvmlGpu(
        index,
        name,
        gfd_label_value(name),
        nvml.memory_total_bytes(handle) // _MIB,
        current,
        pending,
        profiles,
        note,
    )


def _read_mig_mode(nvml: NvmlReader, handle: object) -> tuple[bool | None, bool | None]:
    try:
        current, pending = nvml.mig_mode(handle)
    except Exception as error:
        if nvml.is_nvml_error(error):  # NOT_SUPPORTED on GPUs without MIG
            return None, None
        raise
    enabled = nvml.constant("NVML_DEVICE_MIG_ENABLE", 1)
    return current == enabled, pending == enabled


def _read_profiles(nvml: NvmlReader, handle: object) -> tuple[tuple[NvmlProfile, ...], str | None]:
    profiles: list[NvmlProfile] = []
    errors: list[str] = []
    skip = {nvml.constant("NVML_ERROR_NOT_SUPPORTED", 3), nvml.constant("NVML_ERROR_INVALID_ARGUMENT", 2)}
    index_count = nvml.constant("NVML_GPU_INSTANCE_PROFILE_COUNT", _PROFILE_INDEX_COUNT_FALLBACK)
    for profile_index in range(index_count):
        try:
            info = nvml.profile_info(handle, profile_index)
        except Exception as error:
            if not nvml.is_nvml_error(error):
                raise
            if nvml.error_code(error) not in skip:  # unsupported index: this GPU lacks that shape
                errors.append(f"profile index {profile_index}: {error}")
            continue
        profiles.append(_profile_from_info(nvml, handle, info))
    return tuple(sorted(profiles, key=lambda p: p.nvml_id)), ("; ".join(errors) or None)


def _profile_from_info(nvml: NvmlReader, handle: object, info: Any) -> NvmlProfile:
    placements = _read_placements(nvml, handle, int(info.id))
    sizes = {size for _, size in placements or []}
    raw_name = getattr(info, "name", None)  # only the v2 struct has it, e.g. b"MIG 1g.10gb"
    name = _text(raw_name).removeprefix(_MIG_NAME_PREFIX) if raw_name else None
    return NvmlProfile(
        nvml_id=int(info.id),
        name=name,
        compute_slices=int(info.sliceCount),
        memory_slices=sizes.pop() if len(sizes) == 1 else None,
        memory_mib=int(info.memorySizeMB),
        max_instances=int(info.instanceCount),
        multiprocessors=int(info.multiprocessorCount),
        placement_starts=tuple(sorted(start for start, _ in placements)) if placements is not None else None,
    )


def _read_placements(nvml: NvmlReader, handle: object, profile_id: int) -> list[tuple[int, int]] | None:
    try:
        return nvml.possible_placements(handle, profile_id)
    except Exception as error:
        if nvml.is_nvml_error(error):  # older drivers lack the _v2 call; placements stay unknown
            return None
        raise


# --- comparing with the catalog -------------------------------------------------------------------


def compare_with_catalog(inventory: NvmlInventory) -> list[str]:
    """Every way the local GPUs differ from the built-in catalog, one human line each."""
    differences: list[str] = []
    for gpu in inventory.gpus:
        model = gpu_by_product(gpu.product_label)
        if model is None:
            differences.append(
                f"GPU {gpu.index}: product {gpu.product_label!r} is not in the catalog "
                f"(known GPUs: {', '.join(gpu_keys())})"
            )
            continue
        differences += _driver_differences(gpu, model, inventory.driver_version)
        differences += _mig_differences(gpu, model)
    return differences


def _driver_differences(gpu: NvmlGpu, model: GpuModel, driver_version: str) -> list[str]:
    major = _driver_major(driver_version)
    if model.min_driver is None or major is None or major >= model.min_driver:
        return []
    return [
        f"GPU {gpu.index} ({model.key}): driver {driver_version} is older than R{model.min_driver}, "
        f"the minimum for MIG on this GPU"
    ]


def _driver_major(version: str) -> int | None:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def _mig_differences(gpu: NvmlGpu, model: GpuModel) -> list[str]:
    where = f"GPU {gpu.index} ({model.key})"
    if not model.mig_capable:
        return [f"{where}: NVML reports MIG profiles the catalog does not expect"] if gpu.profiles else []
    if gpu.mig_current is None:
        return [f"{where}: the catalog lists MIG profiles but NVML reports no MIG mode"]
    if not gpu.profiles:
        return []  # profiles unreadable (see profile_note); nothing to compare, not a difference
    differences: list[str] = []
    matched: set[int] = set()
    for expected in model.profiles:
        found = _matching_profile(gpu.profiles, expected)
        if found is None:
            differences.append(f"{where}: profile {expected.name} (NVML id {expected.nvml_id}) is missing")
            continue
        matched.add(found.nvml_id)
        differences += [
            f"{where}: profile {expected.name}: {line}" for line in _profile_differences(expected, found)
        ]
    differences += [
        f"{where}: NVML reports profile {p.name or '?'} (id {p.nvml_id}) that the catalog lacks"
        for p in gpu.profiles
        if p.nvml_id not in matched
    ]
    return differences


def _matching_profile(profiles: tuple[NvmlProfile, ...], expected: MigProfile) -> NvmlProfile | None:
    by_name = next((p for p in profiles if p.name == expected.name), None)
    if by_name is not None or expected.nvml_id is None:
        return by_name
    return next((p for p in profiles if p.name is None and p.nvml_id == expected.nvml_id), None)


def _profile_differences(expected: MigProfile, found: NvmlProfile) -> list[str]:
    pairs: list[tuple[str, object, object]] = [
        ("NVML id", expected.nvml_id, found.nvml_id),
        ("compute slices", expected.compute_slices, found.compute_slices),
        ("max instances", expected.max_count, found.max_instances),
    ]
    if found.memory_slices is not None:
        pairs.append(("memory slices", expected.memory_slices, found.memory_slices))
    if found.placement_starts is not None:
        pairs.append(("placement starts", list(expected.starts), list(found.placement_starts)))
    return [
        f"{what} catalog {want} != NVML {got}"
        for what, want, got in pairs
        if want is not None and want != got
    ]
