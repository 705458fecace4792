"""The capacity plan as data and text: the JSON a stack exports and `modelstack capacity --json` prints,
the rows of its table, and the one-line verdict per pool. The arithmetic lives in `capacity`."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from components.catalog.catalog import Catalog
from components.catalog.stack_config import StackConfig
from components.gpu.capacity import (
    Bound,
    CapacityPlan,
    Dimension,
    PodOverhead,
    PoolPlan,
    number,
    plan_capacity,
    stack_pods,
)


def _utilization(demand: Fraction, supply: Fraction) -> float:
    return round(float(demand / supply), 4) if supply else 0.0


def dimension_dict(plan: PoolPlan, dimension: Dimension) -> dict[str, Any]:
    supply = plan.supply(dimension)
    demand = {bound: dimension.demand(bound) for bound in Bound}
    return {
        "unit": dimension.unit,
        "resource": dimension.resource,
        "perNode": number(dimension.per_node),
        "supply": number(supply),
        "demand": {bound.value: number(demand[bound]) for bound in Bound},
        "utilization": {bound.value: _utilization(demand[bound], supply) for bound in Bound},
        "nodesNeeded": {bound.value: dimension.nodes_needed(bound) for bound in Bound},
        "versions": [
            {
                "model": c.model,
                "version": c.version,
                "perReplica": number(c.per_replica),
                "replicas": {bound.value: c.replicas(bound) for bound in Bound},
            }
            for c in dimension.claims
        ],
    }


def pool_dict(plan: PoolPlan) -> dict[str, Any]:
    pool = plan.pool
    return {
        "pool": pool.name,
        "gpu": pool.gpu,
        "gpusPerNode": pool.gpus_per_node,
        "migStrategy": pool.mig_strategy.value,
        "migLayout": {name: count for name, count in pool.mig_layout.items() if count},
        "minNodes": pool.min_nodes,
        "maxNodes": pool.max_nodes,
        "nodesNeeded": {bound.value: plan.nodes_needed(bound) for bound in Bound},
        "fits": {bound.value: plan.fits(bound) for bound in Bound},
        "resources": [dimension_dict(plan, d) for d in plan.dimensions],
    }


def plan_dict(plan: CapacityPlan) -> dict[str, Any]:
    return {"pools": [pool_dict(pool_plan) for pool_plan in plan.pools]}


def capacity_plan(catalog: Catalog, stack: StackConfig) -> dict[str, Any]:
    """The stack's capacity plan as plain JSON-able data (for stack exports and `modelstack capacity`)."""
    return plan_dict(plan_capacity(stack, stack_pods(catalog, stack), PodOverhead.of(stack, catalog.models)))


_SIZE_KEYS = {"cpu": "cpuPerNode", "memory": "memoryGibPerNode"}


def plan_rows(plan: CapacityPlan) -> list[tuple[str, ...]]:
    """One row per pool and dimension, for a text table; FIT marks rows over maxNodes (`✗ min`, `✗ max`)
    and a pool with nothing to plan gets one row saying so."""
    rows: list[tuple[str, ...]] = []
    for pool_plan in plan.pools:
        pool = pool_plan.pool
        if not pool_plan.planned:
            missing = "/".join(_SIZE_KEYS[u] for u in pool_plan.unplanned)
            unknown = ("?",) * 6
            rows.append(
                (pool.name, "/".join(pool_plan.unplanned), "—", *unknown, f"not planned (no {missing})")
            )
        for d in pool_plan.dimensions:
            supply = pool_plan.supply(d)
            failing = pool_plan.failing(d)
            rows.append(
                (
                    pool.name,
                    d.unit,
                    d.resource,
                    f"{number(d.per_node)}×{pool.max_nodes}={number(supply)}",
                    str(number(d.demand(Bound.MIN))),
                    str(number(d.demand(Bound.MAX))),
                    f"{_utilization(d.demand(Bound.MIN), supply):.0%}",
                    f"{_utilization(d.demand(Bound.MAX), supply):.0%}",
                    f"{d.nodes_needed(Bound.MIN)}/{d.nodes_needed(Bound.MAX)}",
                    "ok" if failing is None else f"✗ {failing.value}",
                )
            )
    return rows


def nodes_summary(plan: PoolPlan) -> str:
    pool = plan.pool
    versions = {(c.model, c.version) for d in plan.dimensions for c in d.claims}
    if not plan.planned:
        missing = " and ".join(_SIZE_KEYS[u] for u in plan.unplanned)
        return (
            f"{pool.name}: cannot be planned — the pool sets no {missing}, so the nodes its versions need "
            f"are unknown; set them to plan it"
        )
    verdict = (
        "fits" if plan.fits(Bound.MAX) else ("fits at min only" if plan.fits(Bound.MIN) else "DOES NOT FIT")
    )
    need_min, need_max = plan.nodes_needed(Bound.MIN), plan.nodes_needed(Bound.MAX)
    line = (
        f"{pool.name}: nodes needed {need_min} (min replicas) / {need_max} (max replicas) of "
        f"minNodes {pool.min_nodes} .. maxNodes {pool.max_nodes} — {verdict}"
    )
    if plan.unplanned and versions:
        line += f" ({' and '.join(plan.unplanned)} not planned: no {'/'.join(_SIZE_KEYS[u] for u in plan.unplanned)})"
    return line
