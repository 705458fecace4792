"""An independent, brute-force statement of the MIG placement rules, for checking the validator.

Deliberately naive: it shares no code with components.facts.mig beyond the catalog data types.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from components.facts.gpus import GpuModel


def placement_problems(
    gpu: GpuModel, layout: Mapping[str, int], placement: Mapping[str, tuple[int, ...]]
) -> list[str]:
    """Every way ``placement`` breaks the rules or fails to realise ``layout`` (empty when it is valid)."""
    problems = []
    wanted = {name: count for name, count in layout.items() if count}
    got = {name: len(starts) for name, starts in placement.items() if starts}
    if wanted != got:
        problems.append(f"placement counts {got} != layout {wanted}")
    used: list[int] = []
    compute = media = 0
    for name, starts in placement.items():
        profile = gpu.profile(name)
        assert profile is not None, name
        for start in starts:
            if start not in profile.starts:
                problems.append(f"{name} at {start} is not an allowed start {profile.starts}")
            used += range(start, start + profile.memory_slices)
            compute += profile.compute_slices
            media += profile.media_extensions
    if len(used) != len(set(used)):
        problems.append(f"memory slices overlap: {sorted(used)}")
    if any(memory_slice >= gpu.memory_slices for memory_slice in used):
        problems.append(f"memory slice beyond {gpu.memory_slices}")
    if media > 1:
        problems.append(f"{media} +me instances")
    if compute > gpu.compute_slices:
        problems.append(f"compute {compute} > {gpu.compute_slices}")
    return problems


def fits_by_brute_force(gpu: GpuModel, layout: Mapping[str, int]) -> bool:
    """Try every combination of starts for every profile; True when any one obeys the rules."""
    wanted = {name: count for name, count in layout.items() if count}
    profiles = {name: gpu.profile(name) for name in wanted}
    if any(profile is None or wanted[name] > profile.max_count for name, profile in profiles.items()):
        return False
    choices = [
        itertools.combinations(profile.starts, wanted[name])
        for name, profile in profiles.items()
        if profile is not None
    ]
    for combination in itertools.product(*choices):
        candidate = dict(zip(profiles, combination, strict=True))
        if not placement_problems(gpu, wanted, candidate):
            return True
    return False
