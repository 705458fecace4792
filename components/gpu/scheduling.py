"""Where a model version's pods may run, derived from its node pool and resources — never hand-written.

A version that names a pool gets:

- a toleration for each of the pool's taints;
- required node affinity to the pool's label (`modelstack.io/node-pool=<pool>`) and, on GPU pools, to the
  `nvidia.com/gpu.product` values of the pool's GPU (GFD rewrites them to `<product>-MIG-<profile>` under
  the `single` strategy, which also keeps pods off a node whose MIG layout is not applied yet);
- the resource name the device plugin exposes for its request: `nvidia.com/gpu` (whole GPUs, or MIG
  under `single`) or `nvidia.com/mig-<profile>` under `mixed`.

`request_problems` says why a request cannot run on a pool; the catalog rules report those, located.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.catalog.node_pool import MigStrategy, NodePool, Taint
from components.catalog.resources import Resources
from components.facts.gpus import GpuModel, gpu_by_key, suggest
from components.facts.mig import WHOLE_GPU_RESOURCE, resource_name, single_strategy_product_labels

GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"


@dataclass(frozen=True, slots=True)
class PodScheduling:
    """The pod-spec fields of one version's placement, plus its container's resource amounts."""

    tolerations: tuple[dict[str, str], ...]
    affinity: dict[str, Any] | None
    node_selector: dict[str, str]
    resource_limits: dict[str, str]
    """cpu, memory, ephemeral-storage and the accelerator resource; render them as requests and limits."""

    def pod_spec_fields(self) -> dict[str, Any]:
        """`tolerations`, `affinity` and `nodeSelector` for a pod spec (empty ones left out)."""
        fields: dict[str, Any] = {}
        if self.tolerations:
            fields["tolerations"] = [dict(t) for t in self.tolerations]
        if self.affinity:
            fields["affinity"] = self.affinity
        if self.node_selector:
            fields["nodeSelector"] = dict(self.node_selector)
        return fields


@dataclass(frozen=True, slots=True)
class RequestProblem:
    """Why a version's request cannot run on its pool; `field` is under the version (e.g. `resources.gpu`)."""

    field: tuple[str, ...]
    message: str


# --- resource names -------------------------------------------------------------------------------


def pool_gpu(pool: NodePool | None) -> GpuModel | None:
    return gpu_by_key(pool.gpu) if pool is not None and pool.gpu else None


def is_mig_pool(pool: NodePool | None) -> bool:
    return pool is not None and pool.mig_strategy != MigStrategy.NONE


def accelerator_resource(pool: NodePool | None, resources: Resources) -> str | None:
    """The extended resource the request names (None without a GPU request)."""
    if not resources.gpu:
        return None
    strategy = pool.mig_strategy if pool is not None else MigStrategy.NONE
    if strategy == MigStrategy.MIXED and not resources.mig_profile:
        raise ValueError(f"node pool {pool.name if pool else '?'} hands out MIG instances; set migProfile")
    return resource_name(strategy.value, resources.mig_profile)


def resource_amounts(pool: NodePool | None, resources: Resources) -> dict[str, str]:
    """Requests (= limits) of the server container, the accelerator under its device-plugin name."""
    amounts = {"cpu": resources.cpu, "memory": resources.memory}
    if resources.ephemeral_storage:
        amounts["ephemeral-storage"] = resources.ephemeral_storage
    accelerator = accelerator_resource(pool, resources)
    if accelerator is not None:
        amounts[accelerator] = str(resources.gpu)
    return amounts


# --- node constraints -----------------------------------------------------------------------------


def single_profile(pool: NodePool) -> str | None:
    """The one profile a `single` pool's GPUs are cut into (validated uniform by the stack config)."""
    profiles = [name for name, count in pool.mig_layout.items() if count]
    return profiles[0] if pool.mig_strategy == MigStrategy.SINGLE and len(profiles) == 1 else None


def product_labels(pool: NodePool) -> tuple[str, ...]:
    """The `nvidia.com/gpu.product` values GFD writes on the pool's nodes (empty for a CPU pool)."""
    model = pool_gpu(pool)
    if model is None:
        return ()
    profile = single_profile(pool)
    return single_strategy_product_labels(model, profile) if profile else model.products


def toleration(taint: Taint) -> dict[str, str]:
    if not taint.value:
        return {"key": taint.key, "operator": "Exists", "effect": taint.effect.value}
    return {"key": taint.key, "operator": "Equal", "value": taint.value, "effect": taint.effect.value}


def node_requirements(pool: NodePool) -> list[dict[str, Any]]:
    """`matchExpressions` that only the pool's nodes satisfy."""
    key, value = pool.pool_label
    expressions: list[dict[str, Any]] = [{"key": key, "operator": "In", "values": [value]}]
    products = product_labels(pool)
    if products:
        expressions.append({"key": GPU_PRODUCT_LABEL, "operator": "In", "values": list(products)})
    return expressions


def node_affinity(pool: NodePool) -> dict[str, Any]:
    terms = [{"matchExpressions": node_requirements(pool)}]
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}


def pod_scheduling(pool: NodePool | None, resources: Resources) -> PodScheduling:
    """Tolerations, affinity, node selector and resource amounts of a version on `pool` (or on no pool)."""
    amounts = resource_amounts(pool, resources)
    if pool is None:
        return PodScheduling(tolerations=(), affinity=None, node_selector={}, resource_limits=amounts)
    key, value = pool.pool_label
    return PodScheduling(
        tolerations=tuple(toleration(taint) for taint in pool.effective_taints),
        affinity=node_affinity(pool),
        node_selector={key: value},
        resource_limits=amounts,
    )


# --- what a pool can run --------------------------------------------------------------------------


def per_node_supply(pool: NodePool) -> dict[str, int]:
    """Accelerator units one node offers: `{"gpu": n}`, or `{profile: gpus × count}` on a MIG pool."""
    if pool.gpu is None:
        return {}
    if not is_mig_pool(pool):
        return {"gpu": pool.gpus_per_node}
    return {name: pool.gpus_per_node * count for name, count in pool.mig_layout.items() if count}


def request_unit(pool: NodePool | None, resources: Resources) -> str | None:
    """The supply unit a request draws on (`gpu` or a MIG profile), None without a GPU request."""
    if not resources.gpu:
        return None
    return resources.mig_profile or "gpu"


def request_problems(pool: NodePool, resources: Resources) -> list[RequestProblem]:
    """Every reason `resources` cannot run on `pool` (empty when it can)."""
    profile = resources.mig_profile
    if not resources.gpu:
        return []
    model = pool_gpu(pool)
    if model is None:
        return [
            RequestProblem(
                ("resources", "gpu"),
                f"node pool {pool.name!r} is a CPU pool (no gpu); a GPU "
                "request needs a GPU node pool — change nodePool or drop resources.gpu",
            )
        ]
    if profile is None:
        if is_mig_pool(pool):
            offered = ", ".join(per_node_supply(pool)) or "none"
            return [
                RequestProblem(
                    ("resources", "gpu"),
                    f"node pool {pool.name!r} splits its {model.key} GPUs "
                    f"into MIG instances ({pool.mig_strategy.value} strategy); request one with "
                    f"resources.migProfile (offered: {offered}) or use a whole-GPU pool",
                )
            ]
        return _too_many(pool, resources, "gpu", f"{pool.gpus_per_node} whole {model.key} GPU(s)")
    return _profile_problems(pool, model, resources, profile)


def _profile_problems(
    pool: NodePool, model: GpuModel, resources: Resources, profile: str
) -> list[RequestProblem]:
    where = ("resources", "migProfile")
    if not is_mig_pool(pool):
        return [
            RequestProblem(
                where,
                f"node pool {pool.name!r} runs whole {model.key} GPUs (migStrategy none); "
                f"MIG profile {profile} needs a MIG pool — drop migProfile or change nodePool",
            )
        ]
    if model.profile(profile) is None:
        return [
            RequestProblem(
                where,
                f"{model.key} (node pool {pool.name!r}) has no MIG profile {profile!r}"
                f"{suggest(profile, model.profile_names)} (profiles: {', '.join(model.profile_names)})",
            )
        ]
    offered = per_node_supply(pool)
    if profile not in offered:
        return [
            RequestProblem(
                where,
                f"node pool {pool.name!r} does not offer {profile}: its migLayout is "
                f"{_layout_text(pool)} — request one of {', '.join(offered)} or add {profile} to the layout",
            )
        ]
    return _too_many(pool, resources, profile, f"{offered[profile]}× {profile}")


def _too_many(pool: NodePool, resources: Resources, unit: str, what: str) -> list[RequestProblem]:
    per_node = per_node_supply(pool).get(unit, 0)
    if resources.gpu <= per_node:
        return []
    return [
        RequestProblem(
            ("resources", "gpu"),
            f"gpu: {resources.gpu} is more than one node of pool "
            f"{pool.name!r} offers ({what} per node); a replica cannot span nodes",
        )
    ]


def _layout_text(pool: NodePool) -> str:
    return ", ".join(f"{count}× {name}" for name, count in pool.mig_layout.items() if count) or "empty"


__all__ = [
    "GPU_PRODUCT_LABEL",
    "WHOLE_GPU_RESOURCE",
    "PodScheduling",
    "RequestProblem",
    "accelerator_resource",
    "node_affinity",
    "node_requirements",
    "per_node_supply",
    "pod_scheduling",
    "product_labels",
    "request_problems",
    "request_unit",
    "resource_amounts",
    "toleration",
]
