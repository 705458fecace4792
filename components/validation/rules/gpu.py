"""Rules of the GPU-capacity issue: a version's request must suit its node pool, and the pools must fit.

Pool existence and "a GPU request needs a pool" are core rules; these only look at versions whose pool
exists.
"""

from __future__ import annotations

from collections.abc import Iterator

from components.catalog.errors import Finding
from components.gpu.capacity import Placed, PodOverhead, capacity_findings, oversized_host_requests
from components.gpu.scheduling import request_problems
from components.quality.placement import evaluator_placements
from components.validation.rules.context import RuleContext


def requests_suit_their_pool(ctx: RuleContext) -> Iterator[Finding]:
    """GPU on a CPU pool, MIG on a whole-GPU pool (and back), unknown or unoffered profiles, too many."""
    for name, version, spec in ctx.versions():
        pool = ctx.stack.pool(spec.node_pool) if spec.node_pool else None
        if pool is None:
            continue
        for problem in request_problems(pool, spec.resources):
            yield Finding(("models", name, "versions", version, *problem.field), problem.message)


def replicas_fit_one_node(ctx: RuleContext) -> Iterator[Finding]:
    """A replica asking for more CPU or memory than one node of its pool has would never schedule."""
    overhead = PodOverhead.of(ctx.stack, ctx.models)
    for name, version, spec in ctx.versions():
        pool = ctx.stack.pool(spec.node_pool) if spec.node_pool else None
        if pool is None:
            continue
        found = oversized_host_requests(pool, spec.resources, overhead.cpu(name), overhead.memory_gib(name))
        for field, message in found:
            yield Finding(("models", name, "versions", version, "resources", field), message)


def pools_fit_their_versions(ctx: RuleContext) -> Iterator[Finding]:
    """Minimum replicas must fit the pools at maxNodes (error); maximum replicas should (warning). The
    golden-set evaluators' pods count too."""
    pods: list[Placed] = [*ctx.versions(), *evaluator_placements(ctx.models, ctx.stack)]
    yield from capacity_findings(ctx.stack, pods, PodOverhead.of(ctx.stack, ctx.models))


GPU_RULES = (requests_suit_their_pool, replicas_fit_one_node, pools_fit_their_versions)
