"""MIG layouts: can these GPU instances share one GPU, and how does Kubernetes name them?

A *layout* is ``{profile: count}`` for one GPU (every GPU of a node pool gets the same layout).
The placement rules come from NVML's placement tables (facts §1):

- each instance starts at one of its profile's allowed memory-slice starts;
- instances' memory-slice ranges do not overlap;
- at most one ``+me`` (media extensions) instance per GPU;
- the compute-slice total stays within the GPU.

The search is exhaustive over at most 8 memory slices, so "no placement" is a proof, not a guess.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from components.facts.gpus import (
    GpuModel,
    MigProfile,
    gfd_label_value,
    gpu_by_key,
    suggest,
    unknown_gpu_message,
)

Layout = Mapping[str, int]
# profile name -> the memory-slice start of each of its instances, ascending.
Placement = dict[str, tuple[int, ...]]

WHOLE_GPU_RESOURCE = "nvidia.com/gpu"
MIXED_RESOURCE_PREFIX = "nvidia.com/mig-"
MIG_CONFIG_PREFIX = "modelstack-"
_LABEL_VALUE_MAX = 63
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", re.ASCII)


@dataclass(frozen=True, slots=True)
class LayoutCheck:
    """The verdict on one layout: a concrete placement, or the reasons there is none."""

    gpu_key: str
    placement: Placement | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.placement is not None


# --- layout validation ----------------------------------------------------------------------------


def check_layout(gpu: GpuModel | str, layout: Layout) -> LayoutCheck:
    """Place every instance of ``layout`` on one ``gpu``, or explain why that is impossible."""
    model = gpu_by_key(gpu) if isinstance(gpu, str) else gpu
    if model is None:
        return LayoutCheck(str(gpu), None, (unknown_gpu_message(str(gpu)),))
    problems = _layout_problems(model, layout)
    if problems:
        return LayoutCheck(model.key, None, tuple(problems))
    instances = _instances_largest_first(model, layout)
    starts, deepest = _place(instances, model.compute_slices)
    if starts is None:
        return LayoutCheck(model.key, None, (_no_placement_message(model, layout, instances, deepest),))
    return LayoutCheck(model.key, _as_placement(model, instances, starts), ())


def _layout_problems(model: GpuModel, layout: Layout) -> list[str]:
    if not model.mig_capable:
        return [f"{model.key} does not support MIG; request whole GPUs ({WHOLE_GPU_RESOURCE}) instead"]
    problems = [_count_problem(model, name, count) for name, count in layout.items()]
    found = [problem for problem in problems if problem]
    if found:
        return found
    return _media_extension_problems(model, layout) + _capacity_problems(model, layout)


def _count_problem(model: GpuModel, name: str, count: int) -> str | None:
    profile = model.profile(name)
    if profile is None:
        return (
            f"{model.key} has no MIG profile {name!r}{suggest(name, model.profile_names)} "
            f"(profiles: {', '.join(model.profile_names)})"
        )
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        return f"{name}: count must be a whole number ≥ 0, got {count!r}"
    if count > profile.max_count:
        return f"{count}× {name} is more than {model.key} allows ({profile.max_count} per GPU)"
    return None


def _media_extension_problems(model: GpuModel, layout: Layout) -> list[str]:
    wanted = {
        name: count for name, count in layout.items() if count and _profile(model, name).media_extensions
    }
    total = sum(wanted.values())
    if total <= 1:
        return []
    asked = ", ".join(f"{count}× {name}" for name, count in wanted.items())
    return [
        f"at most one +me (media extensions) instance fits on a GPU; the layout asks for {total} ({asked})"
    ]


def _capacity_problems(model: GpuModel, layout: Layout) -> list[str]:
    compute = sum(_profile(model, name).compute_slices * count for name, count in layout.items())
    memory = sum(_profile(model, name).memory_slices * count for name, count in layout.items())
    problems = []
    if compute > model.compute_slices:
        problems.append(
            f"{describe_layout(layout)} needs {compute} compute slices; "
            f"{model.key} has {model.compute_slices}"
        )
    if memory > model.memory_slices:
        problems.append(
            f"{describe_layout(layout)} needs {memory} memory slices; {model.key} has {model.memory_slices}"
        )
    return problems


def _profile(model: GpuModel, name: str) -> MigProfile:
    profile = model.profile(name)
    if profile is None:  # callers check names first; this guards against misuse
        raise KeyError(name)
    return profile


def _instances_largest_first(model: GpuModel, layout: Layout) -> tuple[MigProfile, ...]:
    # Large instances have the fewest allowed starts; placing them first prunes the search early.
    profiles = [_profile(model, name) for name, count in layout.items() for _ in range(count)]
    return tuple(sorted(profiles, key=lambda p: (-p.memory_slices, -p.compute_slices, p.name)))


def _place(instances: Sequence[MigProfile], compute_slices: int) -> tuple[list[int] | None, list[int]]:
    """Backtracking search: (starts for every instance, or None; the deepest partial placement)."""
    deepest: list[int] = []
    starts: list[int] = []

    def extend(occupied: frozenset[int], compute_used: int) -> bool:
        nonlocal deepest
        if len(starts) > len(deepest):
            deepest = list(starts)
        if len(starts) == len(instances):
            return True
        profile = instances[len(starts)]
        if compute_used + profile.compute_slices > compute_slices:
            return False
        # Identical instances are interchangeable: only try ascending starts among them.
        previous = starts[-1] if starts and instances[len(starts) - 1] == profile else -1
        for start in profile.starts:
            slices = frozenset(profile.memory_range(start))
            if start > previous and not slices & occupied:
                starts.append(start)
                if extend(occupied | slices, compute_used + profile.compute_slices):
                    return True
                starts.pop()
        return False

    return (starts if extend(frozenset(), 0) else None), deepest


def _as_placement(model: GpuModel, instances: Sequence[MigProfile], starts: Sequence[int]) -> Placement:
    by_name: dict[str, list[int]] = {}
    for profile, start in zip(instances, starts, strict=True):
        by_name.setdefault(profile.name, []).append(start)
    # Catalog order keeps the output stable whatever order the layout was written in.
    return {name: tuple(sorted(by_name[name])) for name in model.profile_names if name in by_name}


def _no_placement_message(
    model: GpuModel, layout: Layout, instances: Sequence[MigProfile], deepest: Sequence[int]
) -> str:
    placed = list(zip(instances, deepest, strict=False))
    used = {memory_slice for profile, start in placed for memory_slice in profile.memory_range(start)}
    free = [memory_slice for memory_slice in range(model.memory_slices) if memory_slice not in used]
    unplaced = Counter(profile for profile in instances[len(placed) :])
    after = ", ".join(
        f"{profile.name} at memory slices {_span(profile.memory_range(start))}" for profile, start in placed
    )
    left = f"memory slices {_ranges(free)} stay free" if free else "no memory slice stays free"
    needs = "; ".join(
        f"{count}× {profile.name} needs {profile.memory_slices} memory slice(s) starting at "
        f"{_ranges(profile.starts)}"
        for profile, count in unplaced.items()
    )
    return (
        f"{describe_layout(layout)} cannot be placed on one {model.key}: the fullest placement "
        f"puts {after or 'nothing'} and then {left}; still unplaced: {needs}"
    )


def _span(slices: range) -> str:
    return str(slices.start) if len(slices) == 1 else f"{slices.start}-{slices.stop - 1}"


def _ranges(numbers: Sequence[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``0-2, 5``."""
    groups: list[list[int]] = []
    for number in sorted(numbers):
        if groups and number == groups[-1][-1] + 1:
            groups[-1].append(number)
        else:
            groups.append([number])
    return ", ".join(str(g[0]) if len(g) == 1 else f"{g[0]}-{g[-1]}" for g in groups)


def describe_layout(layout: Layout) -> str:
    """``{"3g.40gb": 2, "1g.10gb": 1}`` -> ``2× 3g.40gb + 1× 1g.10gb`` (zero counts left out)."""
    parts = [f"{count}× {name}" for name, count in layout.items() if count]
    return " + ".join(parts) or "an empty layout"


# --- Kubernetes naming ----------------------------------------------------------------------------


class MigStrategy(StrEnum):
    """The device plugin's ``--mig-strategy``."""

    NONE = "none"
    SINGLE = "single"
    MIXED = "mixed"


def parse_strategy(value: str) -> MigStrategy:
    try:
        return MigStrategy(value)
    except ValueError:
        known = ", ".join(strategy.value for strategy in MigStrategy)
        raise ValueError(f"unknown MIG strategy {value!r} (known: {known})") from None


def resource_name(strategy: MigStrategy | str, profile: str | None = None) -> str:
    """The extended resource a pod requests for one ``profile`` instance under ``strategy``.

    ``none`` and ``single`` expose only ``nvidia.com/gpu``; ``mixed`` exposes
    ``nvidia.com/mig-<profile>`` with ``+`` written as ``.`` (``1g.10gb+me`` -> ``mig-1g.10gb.me``).
    """
    if parse_strategy(strategy) is not MigStrategy.MIXED:
        return WHOLE_GPU_RESOURCE
    if not profile:
        raise ValueError("the mixed MIG strategy needs a profile to name the resource")
    return MIXED_RESOURCE_PREFIX + profile.replace("+", ".")


def single_strategy_problems(layout: Layout) -> list[str]:
    """Why ``layout`` cannot run under the single strategy (empty when it can).

    The device plugin needs every MIG device on the node to share one profile; with more it marks
    the node ``mig-strategy-invalid`` (older versions panic).
    """
    profiles = [name for name, count in layout.items() if count]
    if not profiles:
        return ["the single MIG strategy needs at least one MIG instance per GPU; the layout has none"]
    if len(profiles) > 1:
        return [
            f"the single MIG strategy needs one uniform profile per node; the layout mixes "
            f"{', '.join(profiles)} (use the mixed strategy)"
        ]
    return []


def strategy_problems(strategy: MigStrategy | str, layout: Layout) -> list[str]:
    """Why ``layout`` does not suit ``strategy`` (empty when it does)."""
    chosen = parse_strategy(strategy)
    if chosen is MigStrategy.SINGLE:
        return single_strategy_problems(layout)
    if chosen is MigStrategy.NONE and any(layout.values()):
        return [
            f"the none MIG strategy does not expose MIG devices; {describe_layout(layout)} "
            f"would be unusable (use single or mixed)"
        ]
    return []


def single_strategy_product_label(product: str, profile: str) -> str:
    """``nvidia.com/gpu.product`` as GFD rewrites it under single: ``<product>-MIG-<profile>``.

    The value goes through GFD's label sanitiser, so ``+me`` loses its ``+``.
    """
    return gfd_label_value(f"{product}-MIG-{profile}")


def single_strategy_product_labels(gpu: GpuModel, profile: str) -> tuple[str, ...]:
    """Every product label a node of ``gpu`` may carry under single with ``profile``."""
    return tuple(single_strategy_product_label(product, profile) for product in gpu.products)


# --- mig-parted -----------------------------------------------------------------------------------


def mig_config_name(layout: Layout, pool: str | None = None) -> str:
    """A deterministic mig-parted config name, usable as the ``nvidia.com/mig.config`` label value.

    ``modelstack-<pool>`` when a pool is named, otherwise spelled from the layout
    (``modelstack-2x1g.10gb-1x3g.40gb``), or a short hash of it when that is too long for a label.
    """
    if pool is not None:
        return _checked_label_value(MIG_CONFIG_PREFIX + pool)
    canonical = "-".join(
        f"{count}x{name.replace('+', '.')}" for name, count in sorted(layout.items()) if count
    )
    spelled = MIG_CONFIG_PREFIX + (canonical or "empty")
    if len(spelled) <= _LABEL_VALUE_MAX and _LABEL_VALUE.fullmatch(spelled):
        return spelled
    return MIG_CONFIG_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _checked_label_value(value: str) -> str:
    if len(value) > _LABEL_VALUE_MAX or not _LABEL_VALUE.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid label value (≤63 of [A-Za-z0-9._-], alphanumeric ends)")
    return value


def mig_parted_config(layout: Layout, name: str) -> dict[str, list[dict[str, object]]]:
    """One ``mig-configs`` entry in mig-parted's format, applying ``layout`` to every GPU."""
    devices = {profile: count for profile, count in sorted(layout.items()) if count}
    return {name: [{"devices": "all", "mig-enabled": True, "mig-devices": devices}]}


def mig_parted_document(*configs: Mapping[str, list[dict[str, object]]]) -> dict[str, object]:
    """A whole mig-parted config file (``version: v1``) holding ``configs``."""
    merged: dict[str, list[dict[str, object]]] = {}
    for config in configs:
        for name, entries in config.items():
            if name in merged and merged[name] != entries:
                raise ValueError(f"two different mig-parted configs are both named {name!r}")
            merged[name] = entries
    return {"version": "v1", "mig-configs": merged}
