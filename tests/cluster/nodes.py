"""Simulated nodes of a stack's node pools: the Node objects a real GPU fleet would register.

Each node carries what the kubelet, the GPU operator, GPU Feature Discovery and (for `karpenter` pools)
Karpenter would put on it, as facts/gpu-mig-istio-facts.md and the project's own derivations say:

- labels: the pool's labels, pool label and `nvidia.com/mig.config` (`components.gpu.node_pool`), GFD's
  `nvidia.com/gpu.product` (rewritten to `<product>-MIG-<profile>` under `single`,
  `components.gpu.scheduling.product_labels`), `nvidia.com/gpu.count`, `nvidia.com/mig.strategy`,
  `nvidia.com/gpu.present`, the zone, hostname, OS and architecture;
- the pool's taints (GPU pools default to `nvidia.com/gpu=present:NoSchedule`);
- allocatable: `nvidia.com/gpu` (whole GPUs, or MIG instances under `single`) or one
  `nvidia.com/mig-<profile>` per profile of the layout under `mixed`, times GPUs per node; CPU and memory
  from `cpuPerNode` / `memoryGibPerNode`; a pool without sizes gets KWOK's own default (1000 CPUs, 1 TiB).

Pools get `maxNodes` nodes: the supply `modelstack capacity` plans against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from components.catalog.node_pool import NodePool, Provisioner
from components.gpu import resource_name
from components.gpu.node_pool import node_labels, taint_manifest
from components.gpu.scheduling import GPU_PRODUCT_LABEL, is_mig_pool, per_node_supply, product_labels
from tests.cluster.cluster import KWOK_NODE_ANNOTATION

UNSIZED_CPU = "1k"
UNSIZED_MEMORY = "1Ti"
PODS_PER_NODE = "110"


def accelerator_allocatable(pool: NodePool) -> dict[str, str]:
    """The extended resources one node of `pool` advertises, as the NVIDIA device plugin names them."""
    supply = per_node_supply(pool)
    if not supply:
        return {}
    if not is_mig_pool(pool):
        return {resource_name("none"): str(supply["gpu"])}
    totals: dict[str, int] = {}
    for profile, count in supply.items():
        name = resource_name(pool.mig_strategy.value, profile)
        totals[name] = totals.get(name, 0) + count
    return {name: str(count) for name, count in totals.items()}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def gfd_labels(pool: NodePool) -> dict[str, str]:
    products = product_labels(pool)
    if not products:
        return {}
    labels = {
        GPU_PRODUCT_LABEL: products[0],
        "nvidia.com/gpu.present": "true",
        "nvidia.com/mig.strategy": pool.mig_strategy.value,
    }
    allocatable = accelerator_allocatable(pool)
    # Under `single` GFD counts MIG devices, otherwise GPUs.
    count = allocatable.get("nvidia.com/gpu") if pool.mig_strategy.value == "single" else None
    labels["nvidia.com/gpu.count"] = count or str(pool.gpus_per_node)
    return labels


def node_manifest(pool: NodePool, index: int) -> dict[str, Any]:
    name = f"{pool.name}-{index}"
    zone = pool.zones[index % len(pool.zones)] if pool.zones else "local-a"
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": zone,
        "type": "kwok",
        **gfd_labels(pool),
        **node_labels(pool),
    }
    if pool.provisioner is Provisioner.KARPENTER:
        labels["karpenter.sh/nodepool"] = pool.name
        if pool.instance_types:
            labels["node.kubernetes.io/instance-type"] = pool.instance_types[0]
    resources = {
        "cpu": _number(pool.cpu_per_node) if pool.cpu_per_node is not None else UNSIZED_CPU,
        "memory": f"{_number(pool.memory_gib_per_node)}Gi"
        if pool.memory_gib_per_node is not None
        else UNSIZED_MEMORY,
        "pods": PODS_PER_NODE,
        **accelerator_allocatable(pool),
    }
    key, value = KWOK_NODE_ANNOTATION
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {key: value}},
        "spec": {"taints": [taint_manifest(t) for t in pool.effective_taints]},
        "status": {"allocatable": resources, "capacity": dict(resources)},
    }


def pool_nodes(pools: Iterable[NodePool], count: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """`maxNodes` nodes per pool (or `count[pool]`), named `<pool>-<i>`."""
    return [
        node_manifest(pool, i) for pool in pools for i in range((count or {}).get(pool.name, pool.max_nodes))
    ]


def stack_node_pools(raw_pools: Iterable[Mapping[str, Any]]) -> list[NodePool]:
    """The `modelstack:nodePools` entries of a stack file, validated by the catalog schema."""
    return [NodePool.model_validate(dict(raw)) for raw in raw_pools]
