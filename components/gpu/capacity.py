"""Capacity plan: what every version asks of its node pool at minimum and maximum replicas, and what the
pool supplies at `maxNodes`.

Per pool, each *dimension* is one thing a node offers a fixed amount of: whole GPUs, instances of one MIG
profile (`gpusPerNode × layout count` per node), and CPU / memory when `cpuPerNode` / `memoryGibPerNode`
are set. Replicas are packed onto nodes first-fit decreasing per dimension, so a replica that cannot be
split across nodes is accounted for (two 3-GPU replicas per 8-GPU node, not 2.67); the pool needs the
largest node count of its dimensions.

Every replica's CPU and memory include its Istio sidecar (`istio.sidecarResources`, or the model's
`sidecarResources`; none under the ambient data plane), since the scheduler counts the injected container.

A plan that does not fit at minimum replicas is an error (the stack could not even start); one that does
not fit at maximum replicas is a warning (the autoscaler would stop short).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

from components.catalog.catalog import Catalog
from components.catalog.errors import Finding, Severity
from components.catalog.model import ModelSpec
from components.catalog.node_pool import NodePool
from components.catalog.resources import ProxyResources, Resources
from components.catalog.stack_config import StackConfig, proxy_resources
from components.catalog.version import VersionSpec
from components.facts.mig import resource_name
from components.gpu.quantity import GIB as _GIB
from components.gpu.quantity import quantity
from components.gpu.scheduling import per_node_supply, request_problems
from components.quality.placement import EvaluatorPods, evaluator_placements


class Bound(StrEnum):
    MIN = "min"
    MAX = "max"


@dataclass(frozen=True, slots=True)
class Claim:
    """One version's per-replica ask on one dimension of its pool."""

    model: str
    version: str
    per_replica: Fraction
    min_replicas: int
    max_replicas: int

    def replicas(self, bound: Bound) -> int:
        return self.min_replicas if bound is Bound.MIN else self.max_replicas

    def demand(self, bound: Bound) -> Fraction:
        return self.per_replica * self.replicas(bound)


@dataclass(frozen=True, slots=True)
class Dimension:
    """One thing the pool's nodes offer a fixed amount of, and the claims on it."""

    unit: str
    """`gpu`, a MIG profile (e.g. `3g.40gb`), `cpu` or `memory` (GiB)."""
    resource: str
    """The Kubernetes resource name the claims request."""
    per_node: Fraction
    claims: tuple[Claim, ...]

    _nodes: dict[Bound, int] = field(default_factory=dict, compare=False, repr=False)
    """Memo of `nodes_needed`: the plan's tables and exports ask for it many times."""
    _sizes: dict[Bound, dict[Fraction, int]] = field(default_factory=dict, compare=False, repr=False)
    """Memo of `replicas_by_size`: both `demand` and `nodes_needed` start from it."""

    def replicas_by_size(self, bound: Bound) -> dict[Fraction, int]:
        """Replicas summed per distinct per-replica size, in the order the sizes first appear."""
        if bound not in self._sizes:
            # Counted under (numerator, denominator): a Fraction's hash and equality are Python code (a
            # modular inverse per hash), a pair of ints' are not; a Fraction is kept in lowest terms, so
            # equal sizes share one pair. ~0.05 s of a 1,000-model plan.
            counts: dict[tuple[int, int], list[Any]] = {}
            for claim in self.claims:
                size = claim.per_replica
                replicas = claim.min_replicas if bound is Bound.MIN else claim.max_replicas
                found = counts.get((size.numerator, size.denominator))
                if found is None:
                    counts[(size.numerator, size.denominator)] = [size, replicas]
                else:
                    found[1] += replicas
            self._sizes[bound] = {size: replicas for size, replicas in counts.values()}
        return self._sizes[bound]

    def demand(self, bound: Bound) -> Fraction:
        # Replicas summed per distinct size first: a handful of Fraction products instead of one Fraction
        # addition (a gcd each) per claim; exact arithmetic, so the same value.
        return sum((size * count for size, count in self.replicas_by_size(bound).items()), Fraction(0))

    def nodes_needed(self, bound: Bound) -> int:
        if bound not in self._nodes:
            self._nodes[bound] = pack_counts(self.replicas_by_size(bound), self.per_node)
        return self._nodes[bound]


def pack(items: Iterable[Fraction], capacity: Fraction) -> int:
    """Bins of `capacity` first-fit decreasing needs for `items` (each item at most `capacity`)."""
    return pack_counts(Counter(items), capacity)


def pack_counts(counts: Mapping[Fraction, int], capacity: Fraction) -> int:
    """`pack` for `{item size: how many}`, in O(distinct sizes × bins) instead of O(items × bins).

    First-fit decreasing puts a run of equal items into the leftmost bin with room, fills it until the
    room is smaller than the item, then moves right: so each run is one sweep over the open bins, placing
    as many items per bin as fit, then new bins of `capacity // size` items each. Same bins as item by item.
    """
    free: list[Fraction] = []
    for size in sorted((s for s, n in counts.items() if n > 0), reverse=True):
        if size > capacity:
            raise ValueError(f"an item of {size} does not fit a bin of {capacity}")
        if size <= 0:
            continue  # takes no room: fits any bin, opens none
        left = counts[size]
        for i, room in enumerate(free):
            if left == 0:
                break
            if room >= size:
                placed = min(left, room // size)
                free[i] = room - placed * size
                left -= placed
        per_bin = capacity // size
        while left > 0:
            placed = min(left, per_bin)
            free.append(capacity - placed * size)
            left -= placed
    return len(free)


@dataclass(frozen=True, slots=True)
class PoolPlan:
    pool: NodePool
    dimensions: tuple[Dimension, ...]

    def supply(self, dimension: Dimension) -> Fraction:
        return dimension.per_node * self.pool.max_nodes

    def nodes_needed(self, bound: Bound) -> int:
        return max((d.nodes_needed(bound) for d in self.dimensions), default=0)

    def fits(self, bound: Bound) -> bool:
        return self.nodes_needed(bound) <= self.pool.max_nodes

    @property
    def unplanned(self) -> tuple[str, ...]:
        """Host resources the pool gives no size for (`cpuPerNode`, `memoryGibPerNode`): nodes needed for
        them are unknown, so a pool with no other dimension cannot be planned at all."""
        missing = []
        if self.pool.cpu_per_node is None:
            missing.append("cpu")
        if self.pool.memory_gib_per_node is None:
            missing.append("memory")
        return tuple(missing)

    @property
    def planned(self) -> bool:
        return bool(self.dimensions)

    def failing(self, dimension: Dimension) -> Bound | None:
        """The lowest bound at which `dimension` needs more nodes than maxNodes (None: it fits)."""
        for bound in (Bound.MIN, Bound.MAX):
            if dimension.nodes_needed(bound) > self.pool.max_nodes:
                return bound
        return None


@dataclass(frozen=True, slots=True)
class CapacityPlan:
    pools: tuple[PoolPlan, ...]

    def pool(self, name: str) -> PoolPlan | None:
        return next((plan for plan in self.pools if plan.pool.name == name), None)


# --- building the plan ----------------------------------------------------------------------------

Placed = tuple[str, str, VersionSpec | EvaluatorPods]
"""(model, version, what its pods ask for): a version's replicas, or a golden-set evaluator's pod."""


@dataclass(frozen=True)
class PodOverhead:
    """What each replica's pod asks for besides the server container: the injected Istio sidecar."""

    sidecars: Mapping[str, ProxyResources | None] = field(default_factory=dict)
    """Per model; a model not named gets `default`."""
    default: ProxyResources | None = None

    @classmethod
    def of(cls, stack: StackConfig, models: Mapping[str, ModelSpec]) -> PodOverhead:
        return cls(
            {name: proxy_resources(stack.istio, model.sidecar_resources) for name, model in models.items()},
            proxy_resources(stack.istio, None),
        )

    def cpu(self, model: str) -> Fraction:
        proxy = self.sidecars.get(model, self.default)
        return quantity(proxy.cpu) if proxy else Fraction(0)

    def memory_gib(self, model: str) -> Fraction:
        proxy = self.sidecars.get(model, self.default)
        return gib(proxy.memory) if proxy else Fraction(0)


NO_OVERHEAD = PodOverhead()


def _claim(model: str, version: str, spec: VersionSpec | EvaluatorPods, per_replica: Fraction) -> Claim:
    return Claim(model, version, per_replica, spec.replicas.min, spec.replicas.max)


def _accelerator_dimensions(pool: NodePool, versions: list[Placed]) -> list[Dimension]:
    dimensions = []
    for unit, per_node in per_node_supply(pool).items():
        claims = tuple(
            _claim(m, v, spec, Fraction(spec.resources.gpu))
            for m, v, spec in versions
            if spec.resources.gpu and (spec.resources.mig_profile or "gpu") == unit
        )
        resource = _resource_of(pool, unit)
        dimensions.append(Dimension(unit, resource, Fraction(per_node), claims))
    return dimensions


def _resource_of(pool: NodePool, unit: str) -> str:
    return resource_name(pool.mig_strategy.value, None if unit == "gpu" else unit)


def _host_dimensions(pool: NodePool, versions: list[Placed], overhead: PodOverhead) -> list[Dimension]:
    dimensions = []
    if pool.cpu_per_node is not None:
        claims = tuple(
            _claim(m, v, spec, quantity(spec.resources.cpu) + overhead.cpu(m)) for m, v, spec in versions
        )
        dimensions.append(Dimension("cpu", "cpu", _exact(pool.cpu_per_node), claims))
    if pool.memory_gib_per_node is not None:
        claims = tuple(
            _claim(m, v, spec, gib(spec.resources.memory) + overhead.memory_gib(m)) for m, v, spec in versions
        )
        dimensions.append(Dimension("memory", "memory", _exact(pool.memory_gib_per_node), claims))
    return dimensions


def _schedulable(
    pool: NodePool, model: str, spec: VersionSpec | EvaluatorPods, overhead: PodOverhead
) -> bool:
    """Requests the rules accept, and that fit one node: the rest is reported by the rules instead."""
    if request_problems(pool, spec.resources):
        return False
    return not oversized_host_requests(pool, spec.resources, overhead.cpu(model), overhead.memory_gib(model))


def oversized_host_requests(
    pool: NodePool,
    resources: Resources,
    sidecar_cpu: Fraction = Fraction(0),
    sidecar_gib: Fraction = Fraction(0),
) -> list[tuple[str, str]]:
    """`(field, message)` for CPU / memory requests (with the pod's sidecar) larger than one node."""
    # Asked for every version of every plan: the messages are only written for a request that is too big.
    found = []
    if pool.cpu_per_node is not None and quantity(resources.cpu) + sidecar_cpu > _exact(pool.cpu_per_node):
        with_cpu = f" plus the Istio sidecar's {number(sidecar_cpu)}" if sidecar_cpu else ""
        found.append(
            (
                "cpu",
                f"cpu {resources.cpu}{with_cpu} is more than one node of pool {pool.name!r} offers "
                f"(cpuPerNode {number(_exact(pool.cpu_per_node))})",
            )
        )
    if pool.memory_gib_per_node is not None and gib(resources.memory) + sidecar_gib > _exact(
        pool.memory_gib_per_node
    ):
        with_memory = f" plus the Istio sidecar's {number(sidecar_gib)}Gi" if sidecar_gib else ""
        found.append(
            (
                "memory",
                f"memory {resources.memory}{with_memory} is more than one node of pool {pool.name!r} "
                f"offers (memoryGibPerNode {number(_exact(pool.memory_gib_per_node))})",
            )
        )
    return found


@functools.lru_cache(maxsize=1024)
def _exact(value: float) -> Fraction:
    """A pool's per-node size as written (`Fraction(str(...))`: 0.1 is 1/10, not the float's binary value)."""
    return Fraction(str(value))


@functools.lru_cache(maxsize=4096)  # a catalog repeats a handful of sizes thousands of times
def gib(value: str) -> Fraction:
    """A memory quantity in GiB, exactly."""
    return quantity(value) / _GIB


_PLANS: dict[tuple[Any, ...], tuple[PoolPlan, tuple[Any, ...]]] = {}
_PLANS_KEPT = 64


def plan_pool(pool: NodePool, versions: Iterable[Placed], overhead: PodOverhead = NO_OVERHEAD) -> PoolPlan:
    """The plan of one pool for the versions placed on it (unschedulable ones left out).

    A run plans the same pools twice, for the capacity rule and for the stack's exports, from the same
    (frozen) catalog objects: the second is the first's plan. Keyed by the objects' identities and each
    pod's overhead by value; the memo holds the objects, so no identity is reused while it is kept."""
    placed_all = tuple(versions)
    key = (
        id(pool),
        tuple((m, v, id(spec), overhead.cpu(m), overhead.memory_gib(m)) for m, v, spec in placed_all),
    )
    if (kept := _PLANS.get(key)) is not None:
        return kept[0]
    plan = _plan_pool(pool, placed_all, overhead)
    if len(_PLANS) >= _PLANS_KEPT:
        _PLANS.pop(next(iter(_PLANS)))
    _PLANS[key] = (plan, (pool, placed_all))
    return plan


def _plan_pool(pool: NodePool, versions: Iterable[Placed], overhead: PodOverhead) -> PoolPlan:
    placed = [(m, v, spec) for m, v, spec in versions if _schedulable(pool, m, spec, overhead)]
    return PoolPlan(pool, (*_accelerator_dimensions(pool, placed), *_host_dimensions(pool, placed, overhead)))


def plan_capacity(
    stack: StackConfig, versions: Iterable[Placed], overhead: PodOverhead = NO_OVERHEAD
) -> CapacityPlan:
    """Every pool of the stack, with the versions that name it."""
    by_pool: dict[str, list[Placed]] = {pool.name: [] for pool in stack.node_pools}
    for model, version, spec in versions:
        if spec.node_pool in by_pool:
            by_pool[spec.node_pool].append((model, version, spec))
    return CapacityPlan(tuple(plan_pool(pool, by_pool[pool.name], overhead) for pool in stack.node_pools))


def catalog_versions(catalog: Catalog) -> Iterator[Placed]:
    for model_name, model in catalog.models.items():
        for version_name, version in model.versions.items():
            yield model_name, version_name, version


def stack_pods(catalog: Catalog, stack: StackConfig) -> list[Placed]:
    """Every long-running pod the stack places on its pools: the versions', then the evaluators'."""
    return [*catalog_versions(catalog), *evaluator_placements(catalog.models, stack)]


# --- findings -------------------------------------------------------------------------------------


def capacity_findings(
    stack: StackConfig, versions: Iterable[Placed], overhead: PodOverhead = NO_OVERHEAD
) -> Iterator[Finding]:
    """An error per pool that cannot fit minimum replicas, a warning per pool that cannot fit maximum.

    Located at the `nodePool` of the first version (catalog order) whose replicas overflow the pool.
    """
    placed = list(versions)
    for pool in stack.node_pools:
        mine = [(m, v, spec) for m, v, spec in placed if spec.node_pool == pool.name]
        for bound in Bound:
            finding = _overflow(pool, mine, bound, overhead)
            if finding is not None:
                yield finding
                break  # an error at minimum replicas implies the maximum overflows too


def _overflow(pool: NodePool, versions: list[Placed], bound: Bound, overhead: PodOverhead) -> Finding | None:
    full = plan_pool(pool, versions, overhead)
    if full.fits(bound):
        return None
    first = next(
        # Each prefix is planned once: not memoized (its key would cost as much as its plan).
        i
        for i in range(1, len(versions) + 1)
        if not _plan_pool(pool, versions[:i], overhead).fits(bound)
    )
    model, version, spec = versions[first - 1]
    severity = Severity.ERROR if bound is Bound.MIN else Severity.WARNING
    where = (
        ("analysis", "goldenSet") if isinstance(spec, EvaluatorPods) else ("versions", version, "nodePool")
    )
    return Finding(("models", model, *where), _overflow_message(full, bound), severity)


def _overflow_message(plan: PoolPlan, bound: Bound) -> str:
    pool = plan.pool
    short = [d for d in plan.dimensions if d.nodes_needed(bound) > pool.max_nodes]
    details = "; ".join(
        f"{d.unit}: {number(d.demand(bound))} asked, {number(plan.supply(d))} supplied "
        f"({number(d.per_node)} per node × {pool.max_nodes}), {d.nodes_needed(bound)} nodes needed"
        for d in short
    )
    fix = (
        "raise maxNodes or lower replicas.min"
        if bound is Bound.MIN
        else "raise maxNodes or lower replicas.max"
    )
    what = "minimum" if bound is Bound.MIN else "maximum"
    return (
        f"node pool {pool.name!r} cannot fit every version at {what} replicas: {details} — "
        f"maxNodes is {pool.max_nodes}; {fix}"
    )


def number(value: Fraction) -> int | float:
    """A quantity as the plan prints it: exact when whole, else three decimals."""
    return int(value) if value.denominator == 1 else round(float(value), 3)
