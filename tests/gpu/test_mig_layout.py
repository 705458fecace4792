"""Specification of the MIG layout validator (components.facts.mig.check_layout)."""

from __future__ import annotations

from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mig_oracle import fits_by_brute_force, placement_problems

from components.facts.gpus import GpuModel, MigProfile, all_gpus, gpu_by_key
from components.facts.mig import check_layout

MIG_GPUS = tuple(gpu for gpu in all_gpus() if gpu.mig_capable)
EIGHT_SLICE_GPUS = tuple(gpu for gpu in MIG_GPUS if gpu.memory_slices == 8)


def _named(gpu: GpuModel, compute: int, memory: int, media: bool = False) -> str:
    """The catalog name of the profile with this shape on ``gpu`` (e.g. 3 / 4 -> 3g.40gb on H100)."""
    return next(
        p.name
        for p in gpu.profiles
        if (p.compute_slices, p.memory_slices, p.media_extensions) == (compute, memory, media)
    )


@st.composite
def layouts(draw: st.DrawFn, gpu: GpuModel, beyond_max: int = 1) -> dict[str, int]:
    """Random layouts for ``gpu``: counts up to ``beyond_max`` above each profile's maximum."""
    chosen = draw(st.lists(st.sampled_from(gpu.profiles), unique=True, max_size=4))
    return {
        profile.name: draw(st.integers(1 - beyond_max, profile.max_count + beyond_max)) for profile in chosen
    }


@st.composite
def gpu_and_layout(draw: st.DrawFn) -> tuple[GpuModel, dict[str, int]]:
    gpu = draw(st.sampled_from(MIG_GPUS))
    return gpu, draw(layouts(gpu))


@st.composite
def synthetic_gpus(draw: st.DrawFn) -> GpuModel:
    """Made-up geometries, so layouts that pass the slice totals yet cannot be placed are common."""
    memory_slices = draw(st.integers(2, 8))
    compute_slices = draw(st.sampled_from([memory_slices, memory_slices - 1]))
    profiles = []
    for index in range(draw(st.integers(2, 4))):
        memory = draw(st.integers(1, min(3, memory_slices)))
        starts = draw(st.lists(st.integers(0, memory_slices - memory), min_size=1, max_size=2, unique=True))
        profiles.append(
            MigProfile(
                name=f"p{index}",
                nvml_id=None,
                compute_slices=draw(st.integers(1, memory)),
                memory_slices=memory,
                max_count=draw(st.integers(1, 4)),
                starts=tuple(sorted(starts)),
                media_extensions=draw(st.booleans() if index == 0 else st.just(False)),
                min_driver=None,
            )
        )
    return GpuModel(
        "SYNTHETIC", ("SYNTHETIC",), 1, 1, compute_slices, memory_slices, None, True, tuple(profiles)
    )


# --- soundness: what is accepted really fits ------------------------------------------------------


@given(gpu_and_layout())
def test_every_accepted_layout_comes_with_a_placement_that_obeys_the_rules(
    case: tuple[GpuModel, dict[str, int]],
) -> None:
    gpu, layout = case
    result = check_layout(gpu, layout)
    if result.ok:
        assert result.placement is not None
        assert placement_problems(gpu, layout, result.placement) == []


@given(synthetic_gpus().flatmap(lambda gpu: st.tuples(st.just(gpu), layouts(gpu, beyond_max=0))))
def test_every_accepted_layout_on_any_geometry_obeys_the_rules(case: tuple[GpuModel, dict[str, int]]) -> None:
    gpu, layout = case
    result = check_layout(gpu, layout)
    if result.ok:
        assert result.placement is not None
        assert placement_problems(gpu, layout, result.placement) == []


@given(gpu_and_layout())
def test_a_layout_is_either_placed_or_refused_with_reasons(case: tuple[GpuModel, dict[str, int]]) -> None:
    gpu, layout = case
    result = check_layout(gpu, layout)
    assert (result.placement is None) == bool(result.problems)


# --- completeness: what fits is accepted ----------------------------------------------------------


@given(gpu_and_layout())
def test_validator_agrees_with_brute_force_on_catalog_gpus(case: tuple[GpuModel, dict[str, int]]) -> None:
    gpu, layout = case
    assert check_layout(gpu, layout).ok == fits_by_brute_force(gpu, layout)


@settings(max_examples=500)
@given(synthetic_gpus().flatmap(lambda gpu: st.tuples(st.just(gpu), layouts(gpu, beyond_max=0))))
def test_validator_agrees_with_brute_force_on_synthetic_geometries(
    case: tuple[GpuModel, dict[str, int]],
) -> None:
    gpu, layout = case
    assert check_layout(gpu, layout).ok == fits_by_brute_force(gpu, layout)


@given(gpu_and_layout(), st.randoms())
def test_the_placement_does_not_depend_on_the_order_the_layout_is_written_in(
    case: tuple[GpuModel, dict[str, int]], random: Random
) -> None:
    gpu, layout = case
    shuffled = list(layout.items())
    random.shuffle(shuffled)
    assert check_layout(gpu, dict(shuffled)).placement == check_layout(gpu, layout).placement


# --- NVIDIA's published layouts (mig-parted config-default.yaml) -----------------------------------


@pytest.mark.parametrize("gpu", MIG_GPUS, ids=lambda gpu: gpu.key)
def test_mig_parted_all_balanced_is_accepted(gpu: GpuModel) -> None:
    if gpu.memory_slices == 8:
        layout = {_named(gpu, 1, 1): 2, _named(gpu, 2, 2): 1, _named(gpu, 3, 4): 1}
    else:  # A30
        layout = {_named(gpu, 1, 1): 2, _named(gpu, 2, 2): 1}
    assert check_layout(gpu, layout).ok


@pytest.mark.parametrize(
    ("gpu", "profile"),
    [(gpu, profile) for gpu in MIG_GPUS for profile in gpu.profiles],
    ids=lambda value: getattr(value, "key", getattr(value, "name", "")),
)
def test_mig_parted_all_profile_at_its_max_count_is_accepted(gpu: GpuModel, profile: MigProfile) -> None:
    assert check_layout(gpu, {profile.name: profile.max_count}).ok


def test_mig_parted_all_1g_10gb_on_a100_40gb_is_accepted_with_four_instances() -> None:
    result = check_layout("A100-40GB", {"1g.10gb": 4})
    assert result.placement == {"1g.10gb": (0, 2, 4, 6)}


# --- the facts file's worked examples -------------------------------------------------------------


@pytest.mark.parametrize("gpu", EIGHT_SLICE_GPUS, ids=lambda gpu: gpu.key)
@pytest.mark.parametrize(
    "shapes",
    [
        {(4, 4): 1, (3, 4): 1},
        {(3, 4): 2},
        {(4, 4): 1, (2, 2): 1, (1, 1): 1},
        {(2, 2): 3, (1, 1): 1},
        {(1, 1): 7},
        {(1, 2): 4},
        {(7, 8): 1},
    ],
    ids=str,
)
def test_documented_valid_layouts_are_accepted(gpu: GpuModel, shapes: dict[tuple[int, int], int]) -> None:
    layout = {_named(gpu, compute, memory): count for (compute, memory), count in shapes.items()}
    assert check_layout(gpu, layout).ok


@pytest.mark.parametrize("key", ["A100-80GB", "H100-80GB"])
def test_two_3g_and_one_1g_is_refused_on_80gb_gpus_for_lack_of_memory_slices(key: str) -> None:
    result = check_layout(key, {"3g.40gb": 2, "1g.10gb": 1})
    assert not result.ok
    assert result.problems == (f"2× 3g.40gb + 1× 1g.10gb needs 9 memory slices; {key} has 8",)


def test_two_4g_instances_are_refused_above_the_profile_maximum() -> None:
    assert check_layout("H100-80GB", {"4g.40gb": 2}).problems == (
        "2× 4g.40gb is more than H100-80GB allows (1 per GPU)",
    )


def test_eight_1g_instances_are_refused_above_the_profile_maximum() -> None:
    assert check_layout("A100-80GB", {"1g.10gb": 8}).problems == (
        "8× 1g.10gb is more than A100-80GB allows (7 per GPU)",
    )


def test_two_1g_me_instances_are_refused() -> None:
    result = check_layout("H100-80GB", {"1g.10gb+me": 2})
    assert not result.ok
    assert "1 per GPU" in result.problems[0]


def test_two_different_me_profiles_are_refused_as_more_than_one_media_extension_instance() -> None:
    result = check_layout("A30-24GB", {"1g.6gb+me": 1, "2g.12gb+me": 1})
    assert result.problems == (
        "at most one +me (media extensions) instance fits on a GPU; "
        "the layout asks for 2 (1× 1g.6gb+me, 1× 2g.12gb+me)",
    )


def test_4g_and_two_2g_are_refused_for_exceeding_seven_compute_slices() -> None:
    result = check_layout("H100-80GB", {"4g.40gb": 1, "2g.20gb": 2})
    assert result.problems == ("1× 4g.40gb + 2× 2g.20gb needs 8 compute slices; H100-80GB has 7",)


# --- human problems ------------------------------------------------------------------------------


def test_an_unknown_profile_is_refused_with_a_did_you_mean_from_the_gpus_profiles() -> None:
    (problem,) = check_layout("H100-80GB", {"3g.20gb": 1}).problems
    assert problem.startswith("H100-80GB has no MIG profile '3g.20gb'; did you mean '3g.40gb'")
    assert "(profiles: 1g.10gb, 1g.10gb+me, 1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb)" in problem


def test_every_unknown_profile_is_reported_not_just_the_first() -> None:
    assert len(check_layout("A100-40GB", {"1g.10gb+me": 1, "7g.80gb": 1}).problems) == 2


def test_a_negative_count_is_refused() -> None:
    assert check_layout("H100-80GB", {"1g.10gb": -1}).problems == (
        "1g.10gb: count must be a whole number ≥ 0, got -1",
    )


def test_any_layout_on_a_gpu_without_mig_is_refused() -> None:
    assert check_layout("L4", {"1g.5gb": 1}).problems == (
        "L4 does not support MIG; request whole GPUs (nvidia.com/gpu) instead",
    )


def test_an_unknown_gpu_is_refused_with_a_did_you_mean() -> None:
    (problem,) = check_layout("H100-80G", {}).problems
    assert problem.startswith("unknown GPU 'H100-80G'; did you mean 'H100-80GB'")


def test_an_empty_layout_fits_with_nothing_placed() -> None:
    assert check_layout("H100-80GB", {}).placement == {}


def test_a_layout_that_fits_the_totals_but_not_the_starts_is_refused_naming_what_remains() -> None:
    wide = MigProfile("2g.x", None, 2, 2, 1, (1,), False, None)
    narrow = MigProfile("1g.x", None, 1, 1, 4, (0, 1, 2), False, None)
    gpu = GpuModel("TOY-4", ("TOY-4",), 4, 4096, 4, 4, None, True, (wide, narrow))
    (problem,) = check_layout(gpu, {"2g.x": 1, "1g.x": 2}).problems
    assert problem == (
        "1× 2g.x + 2× 1g.x cannot be placed on one TOY-4: the fullest placement puts "
        "2g.x at memory slices 1-2, 1g.x at memory slices 0 and then memory slices 3 stay free; "
        "still unplaced: 1× 1g.x needs 1 memory slice(s) starting at 0-2"
    )


def test_the_placement_names_start_slices_per_profile_in_catalog_order() -> None:
    result = check_layout(gpu_by_key("H100-80GB") or "", {"1g.10gb": 2, "3g.40gb": 1, "2g.20gb": 1})
    assert result.placement is not None
    assert list(result.placement) == ["1g.10gb", "2g.20gb", "3g.40gb"]
