"""Properties of the capacity plan: demand is linear in replicas, an accepted plan never asks for more than
the pool supplies, and packing accounts for replicas that cannot be split across nodes."""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from components.catalog.node_pool import NodePool
from components.catalog.version import VersionSpec
from components.gpu.capacity import Bound, Claim, Dimension, pack, plan_pool, quantity
from tests.gpu_pools.project import DIGEST

LAYOUTS = [
    {"7g.80gb": 1},
    {"3g.40gb": 2},
    {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 2},
    {"1g.10gb": 7},
    {"4g.40gb": 1, "1g.20gb": 1, "1g.10gb+me": 1},
]


def version(gpu: int, profile: str | None, low: int, high: int, cpu: str = "1") -> VersionSpec:
    resources: dict[str, object] = {"cpu": cpu, "memory": "1Gi", "gpu": gpu}
    if profile:
        resources["migProfile"] = profile
    return VersionSpec.model_validate(
        {
            "image": f"registry.example.com/m@sha256:{DIGEST}",
            "weight": 100,
            "nodePool": "pool",
            "resources": resources,
            "replicas": {"min": low, "max": high},
        }
    )


@st.composite
def pools(draw: st.DrawFn) -> NodePool:
    layout = draw(st.none() | st.sampled_from(LAYOUTS))
    return NodePool(
        name="pool",
        gpu="H100-80GB",
        gpus_per_node=draw(st.integers(1, 8)),
        mig_strategy="mixed" if layout else "none",
        mig_layout=layout or {},
        max_nodes=draw(st.integers(1, 6)),
        cpu_per_node=draw(st.none() | st.sampled_from([16.0, 32.5, 192.0])),
    )


@st.composite
def pool_with_versions(draw: st.DrawFn) -> tuple[NodePool, list[tuple[str, str, VersionSpec]]]:
    pool = draw(pools())
    offered = {name: pool.gpus_per_node * count for name, count in pool.mig_layout.items()} or {
        "gpu": pool.gpus_per_node
    }
    versions = []
    for i in range(draw(st.integers(0, 4))):
        unit = draw(st.sampled_from(sorted(offered)))
        gpu = draw(st.integers(1, min(offered[unit], 16)))
        low = draw(st.integers(1, 6))
        high = low + draw(st.integers(0, 6))
        cpu = draw(st.sampled_from(["500m", "1", "4", "12"]))
        versions.append((f"m{i}", "v1", version(gpu, None if unit == "gpu" else unit, low, high, cpu)))
    return pool, versions


@given(pool_with_versions(), st.sampled_from(list(Bound)))
def test_an_accepted_plan_never_demands_more_than_the_pool_supplies(
    case: tuple[NodePool, list[tuple[str, str, VersionSpec]]], bound: Bound
) -> None:
    pool, versions = case
    plan = plan_pool(pool, versions)

    if plan.fits(bound):
        assert all(d.demand(bound) <= plan.supply(d) for d in plan.dimensions)


@given(pool_with_versions(), st.sampled_from(list(Bound)))
def test_nodes_needed_is_at_least_demand_over_what_one_node_offers(
    case: tuple[NodePool, list[tuple[str, str, VersionSpec]]], bound: Bound
) -> None:
    pool, versions = case
    plan = plan_pool(pool, versions)

    for d in plan.dimensions:
        assert d.nodes_needed(bound) >= math.ceil(d.demand(bound) / d.per_node)


@given(pool_with_versions(), st.integers(1, 5))
def test_demand_is_linear_in_replicas(
    case: tuple[NodePool, list[tuple[str, str, VersionSpec]]], k: int
) -> None:
    pool, versions = case
    scaled = [
        (
            m,
            v,
            spec.model_copy(
                update={
                    "replicas": spec.replicas.model_copy(
                        update={"min": spec.replicas.min * k, "max": spec.replicas.max * k}
                    )
                }
            ),
        )
        for m, v, spec in versions
    ]

    base, more = plan_pool(pool, versions), plan_pool(pool, scaled)

    for bound in Bound:
        assert [d.demand(bound) * k for d in base.dimensions] == [d.demand(bound) for d in more.dimensions]


def first_fit_decreasing(items: list[Fraction], capacity: Fraction) -> int:
    """The textbook algorithm, one item at a time: the reference the grouped packer must equal."""
    free: list[Fraction] = []
    for item in sorted(items, reverse=True):
        slot = next((i for i, room in enumerate(free) if room >= item), None)
        if slot is None:
            free.append(capacity - item)
        else:
            free[slot] -= item
    return len(free)


@given(
    st.lists(st.fractions(min_value=Fraction(1, 4), max_value=8, max_denominator=4), max_size=60),
    st.integers(8, 12),
)
def test_packing_equals_item_by_item_first_fit_decreasing(items: list[Fraction], capacity: int) -> None:
    assert pack(items, Fraction(capacity)) == first_fit_decreasing(items, Fraction(capacity))


@given(st.integers(0, 200), st.integers(1, 8), st.integers(1, 16))
def test_identical_replicas_pack_whole_replicas_per_node(count: int, size: int, extra: int) -> None:
    capacity = size + extra - 1  # at least one replica per node

    bins = pack([Fraction(size)] * count, Fraction(capacity))

    assert bins == math.ceil(count / (capacity // size))


def test_three_gpu_replicas_leave_two_gpus_of_an_eight_gpu_node_idle() -> None:
    pool = NodePool(name="pool", gpu="H100-80GB", gpus_per_node=8, max_nodes=3)
    plan = plan_pool(pool, [("m", "v1", version(3, None, 6, 8))])

    assert (plan.nodes_needed(Bound.MIN), plan.fits(Bound.MIN)) == (3, True)
    assert (plan.nodes_needed(Bound.MAX), plan.fits(Bound.MAX)) == (4, False)


def test_mig_supply_is_gpus_per_node_times_layout_count_times_max_nodes() -> None:
    pool = NodePool(
        name="pool",
        gpu="H100-80GB",
        gpus_per_node=8,
        mig_strategy="mixed",
        mig_layout={"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 2},
        max_nodes=2,
    )
    plan = plan_pool(pool, [])

    assert {d.unit: plan.supply(d) for d in plan.dimensions} == {"3g.40gb": 16, "2g.20gb": 16, "1g.10gb": 32}


def test_quantities_are_exact() -> None:
    assert [quantity("500m"), quantity("64Gi"), quantity("1.5")] == [
        Fraction(1, 2),
        Fraction(64 * 2**30),
        Fraction(3, 2),
    ]


@given(pool_with_versions(), pool_with_versions())
def test_a_pool_planned_again_gets_the_plan_computed_afresh_whatever_was_planned_before(
    first: tuple[NodePool, list[tuple[str, str, VersionSpec]]],
    second: tuple[NodePool, list[tuple[str, str, VersionSpec]]],
) -> None:
    # plan_pool remembers plans by the (frozen) objects' identities: a second plan of the same objects
    # (the capacity rule, then the stack's exports) must equal a fresh one, and other objects that are
    # equal in value must never get another pool's plan.
    from components.gpu.capacity import NO_OVERHEAD, _plan_pool

    for pool, versions in (first, second, first):
        assert plan_pool(pool, versions) == _plan_pool(pool, versions, NO_OVERHEAD)
    assert plan_pool(first[0], first[1]) is plan_pool(first[0], first[1])
    copied = [(m, v, spec.model_copy()) for m, v, spec in second[1]]
    assert plan_pool(second[0].model_copy(), copied) == _plan_pool(second[0], second[1], NO_OVERHEAD)


claims = st.builds(
    Claim,
    model=st.sampled_from(["a", "b", "c"]),
    version=st.sampled_from(["v1", "v2"]),
    per_replica=st.fractions(min_value=Fraction(1, 1000), max_value=64, max_denominator=1024),
    min_replicas=st.integers(0, 8),
    max_replicas=st.integers(0, 16),
)


@given(st.lists(claims, max_size=30), st.sampled_from(list(Bound)))
def test_a_dimensions_demand_is_the_sum_of_its_claims_demands(claims: list[Claim], bound: Bound) -> None:
    dimension = Dimension("gpu", "nvidia.com/gpu", Fraction(8), tuple(claims))
    assert dimension.demand(bound) == sum((claim.demand(bound) for claim in claims), Fraction(0))
