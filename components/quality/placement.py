"""Where the golden-set evaluator runs and what its pod asks for: shared by its manifests and the capacity plan."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from components.catalog.model import ModelSpec
from components.catalog.node_pool import NodePool
from components.catalog.resources import Resources
from components.catalog.stack_config import StackConfig
from components.catalog.workload import Replicas

# One small Python process: the golden set (≤ 1 MiB of JSON, a few MiB parsed) and one batch in flight.
# Requests = limits, like every model pod (Guaranteed QoS).
EVALUATOR_RESOURCES = Resources(cpu="200m", memory="256Mi")
EVALUATOR_REPLICAS = 1


def evaluator_pool(model: ModelSpec, stack: StackConfig) -> NodePool | None:
    """The pool named by `goldenSet.nodePool`, else the stack's first pool without GPUs (None: neither —
    a validation rule reports it; a GPU pool is never taken by default, its nodes are too dear)."""
    golden = model.analysis.golden_set if model.analysis else None
    if golden is None:
        return None
    if golden.node_pool is not None:
        return stack.pool(golden.node_pool)
    return next((pool for pool in stack.node_pools if pool.gpu is None), None)


@dataclass(frozen=True)
class EvaluatorPods:
    """The evaluator's pods as the capacity plan counts them, beside the versions' replicas."""

    node_pool: str | None
    resources: Resources = EVALUATOR_RESOURCES
    replicas: Replicas = field(
        default_factory=lambda: Replicas(min=EVALUATOR_REPLICAS, max=EVALUATOR_REPLICAS)
    )


EVALUATOR_ROW = "golden-eval"
"""Its name in the capacity plan's rows (`<model>/golden-eval`); no version of such a model has it."""


def evaluator_placements(
    models: Mapping[str, ModelSpec], stack: StackConfig
) -> Iterator[tuple[str, str, EvaluatorPods]]:
    """(model, EVALUATOR_ROW, pods) of every model with a golden set whose pool exists."""
    for name, model in models.items():
        pool = evaluator_pool(model, stack)
        if pool is not None:
            yield name, EVALUATOR_ROW, EvaluatorPods(pool.name)
