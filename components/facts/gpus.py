"""The built-in GPU catalog: MIG geometry, GFD product labels and minimum drivers per GPU model.

The data lives in ``gpus.yaml`` next to this module and is loaded once. Profiles are written per
*geometry* (slice layout shared by a GPU family) and named per GPU, so a placement rule is stated
once and cannot drift between, say, A100-80GB and H100-80GB.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

CATALOG_FILE = "gpus.yaml"
MEDIA_EXTENSIONS_SUFFIX = "+me"
# GFD appends "-MIG-<profile>" to the product label under the single strategy.
_SINGLE_STRATEGY_MARKER = "-MIG-"


class CatalogError(ValueError):
    """The packaged catalog file is inconsistent (a packaging bug, never a user error)."""


@dataclass(frozen=True, slots=True)
class MigProfile:
    """One GPU-instance profile, e.g. ``3g.40gb`` on an H100-80GB."""

    name: str
    nvml_id: int | None
    compute_slices: int
    memory_slices: int
    max_count: int
    starts: tuple[int, ...]
    media_extensions: bool
    min_driver: int | None

    def memory_range(self, start: int) -> range:
        """The memory slices an instance placed at ``start`` occupies."""
        return range(start, start + self.memory_slices)


@dataclass(frozen=True, slots=True)
class GpuModel:
    """A GPU model as the catalog knows it."""

    key: str
    products: tuple[str, ...]
    memory_gb: int
    memory_mib: int
    compute_slices: int
    memory_slices: int
    min_driver: int | None
    placements_derived: bool
    profiles: tuple[MigProfile, ...]

    @property
    def mig_capable(self) -> bool:
        return bool(self.profiles)

    @property
    def profile_names(self) -> tuple[str, ...]:
        return tuple(profile.name for profile in self.profiles)

    def profile(self, name: str) -> MigProfile | None:
        return next((profile for profile in self.profiles if profile.name == name), None)

    def profile_by_nvml_id(self, nvml_id: int) -> MigProfile | None:
        return next((profile for profile in self.profiles if profile.nvml_id == nvml_id), None)


# --- file schema (private): what gpus.yaml may contain --------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _GeometryProfile(_Strict):
    kind: str
    nvml_id: int | None = None
    compute: int = Field(ge=1)
    memory: int = Field(ge=1)
    max: int = Field(ge=1)
    starts: tuple[int, ...] = Field(min_length=1)
    media_extensions: bool = False


class _Geometry(_Strict):
    compute_slices: int = Field(ge=1)
    memory_slices: int = Field(ge=1)
    profiles: tuple[_GeometryProfile, ...]

    @model_validator(mode="after")
    def _starts_fit(self) -> _Geometry:
        for profile in self.profiles:
            if max(profile.starts) + profile.memory > self.memory_slices:
                raise ValueError(f"profile kind {profile.kind} runs past memory slice {self.memory_slices}")
        return self


class _GpuEntry(_Strict):
    key: str
    memory_gb: int = Field(ge=1)
    memory_mib: int = Field(ge=1)
    products: tuple[str, ...] = Field(min_length=1)
    min_driver: int | None = None
    geometry: str | None = None
    placements: Literal["measured", "derived"] | None = None
    profiles: dict[str, str] = Field(default_factory=dict)
    profile_min_driver: dict[str, int] = Field(default_factory=dict)


class _CatalogFile(_Strict):
    geometries: dict[str, _Geometry]
    gpus: tuple[_GpuEntry, ...]


# --- loading --------------------------------------------------------------------------------------


def _build_profiles(entry: _GpuEntry, geometry: _Geometry) -> tuple[MigProfile, ...]:
    kinds = {profile.kind for profile in geometry.profiles}
    if set(entry.profiles) != kinds:
        raise CatalogError(f"{entry.key}: profile kinds {sorted(entry.profiles)} != geometry {sorted(kinds)}")
    unknown_overrides = set(entry.profile_min_driver) - set(entry.profiles.values())
    if unknown_overrides:
        raise CatalogError(f"{entry.key}: profile_min_driver names unknown {sorted(unknown_overrides)}")
    return tuple(
        MigProfile(
            name=entry.profiles[shape.kind],
            nvml_id=shape.nvml_id,
            compute_slices=shape.compute,
            memory_slices=shape.memory,
            max_count=shape.max,
            starts=tuple(sorted(shape.starts)),
            media_extensions=shape.media_extensions,
            min_driver=entry.profile_min_driver.get(entry.profiles[shape.kind], entry.min_driver),
        )
        for shape in geometry.profiles
    )


def _build_model(entry: _GpuEntry, geometries: Mapping[str, _Geometry]) -> GpuModel:
    if entry.geometry is None:
        if entry.profiles:
            raise CatalogError(f"{entry.key}: profiles without a geometry")
        return GpuModel(
            entry.key, entry.products, entry.memory_gb, entry.memory_mib, 0, 0, entry.min_driver, False, ()
        )
    geometry = geometries.get(entry.geometry)
    if geometry is None:
        raise CatalogError(f"{entry.key}: unknown geometry {entry.geometry!r}")
    if entry.min_driver is None or entry.placements is None:
        raise CatalogError(f"{entry.key}: a MIG GPU needs min_driver and placements")
    return GpuModel(
        key=entry.key,
        products=entry.products,
        memory_gb=entry.memory_gb,
        memory_mib=entry.memory_mib,
        compute_slices=geometry.compute_slices,
        memory_slices=geometry.memory_slices,
        min_driver=entry.min_driver,
        placements_derived=entry.placements == "derived",
        profiles=_build_profiles(entry, geometry),
    )


def _check_unique(models: tuple[GpuModel, ...]) -> None:
    seen_keys: set[str] = set()
    seen_products: dict[str, str] = {}
    for model in models:
        if model.key in seen_keys:
            raise CatalogError(f"duplicate GPU key {model.key}")
        seen_keys.add(model.key)
        for product in model.products:
            if product in seen_products:
                raise CatalogError(f"product {product} listed for {seen_products[product]} and {model.key}")
            seen_products[product] = model.key


@cache
def all_gpus() -> tuple[GpuModel, ...]:
    """Every GPU in the packaged catalog, in file order (loaded once per process)."""
    text = (
        resources.files(__package__ or "components.facts").joinpath(CATALOG_FILE).read_text(encoding="utf-8")
    )
    raw = _CatalogFile.model_validate(yaml.safe_load(text))
    models = tuple(_build_model(entry, raw.geometries) for entry in raw.gpus)
    _check_unique(models)
    return models


# --- lookups --------------------------------------------------------------------------------------


def gpu_keys() -> tuple[str, ...]:
    """Catalog keys (e.g. ``H100-80GB``), for listings and did-you-mean messages."""
    return tuple(model.key for model in all_gpus())


def gpu_by_key(key: str) -> GpuModel | None:
    return next((model for model in all_gpus() if model.key == key), None)


def gfd_label_value(name: str) -> str:
    """A name as GFD writes it into a label value: invalid characters dropped, spaces as dashes.

    Mirrors the device plugin's product-name sanitiser (``[^A-Za-z0-9-_. ]`` removed, then
    whitespace-separated fields joined by ``-``), so ``NVIDIA H100 80GB HBM3`` becomes
    ``NVIDIA-H100-80GB-HBM3``.
    """
    return "-".join(re.sub(r"[^A-Za-z0-9\-_. ]", "", name).split())


def base_product(label: str) -> str:
    """The whole-GPU product from a label GFD may have rewritten under the single strategy."""
    marker = label.find(_SINGLE_STRATEGY_MARKER)
    return label if marker < 0 else label[:marker]


def gpu_by_product(label: str) -> GpuModel | None:
    """The GPU model behind an ``nvidia.com/gpu.product`` value (``-MIG-<profile>`` suffix allowed)."""
    product = base_product(gfd_label_value(label))
    return next((model for model in all_gpus() if product in model.products), None)


def suggest(name: str, candidates: tuple[str, ...]) -> str:
    """A short "did you mean" clause for ``name`` among ``candidates`` (empty when none is close)."""
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    return f"; did you mean {' or '.join(repr(match) for match in close)}?" if close else ""


def unknown_gpu_message(key: str) -> str:
    return f"unknown GPU {key!r}{suggest(key, gpu_keys())} (known: {', '.join(gpu_keys())})"
