"""What the simulated fleet and the CRD installer are made of, checked without a cluster (fast suite).

The Node objects must offer exactly what the project's own scheduling derivation asks for (labels the
affinity selects, taints the tolerations match, the resource names the requests use), and the CRDs must
never make the API server call out.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.catalog.node_pool import NodePool
from components.catalog.resources import Resources
from components.gpu.scheduling import node_requirements, pod_scheduling
from tests.cluster.cluster import SCHEMAS, crd_documents, forbidden_objects
from tests.cluster.nodes import accelerator_allocatable, node_manifest, pool_nodes, stack_node_pools
from tests.engine.engine import ROOT

PROD_POOLS = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]["modelstack:nodePools"]


def _pool(**fields: Any) -> NodePool:
    return NodePool.model_validate({"name": "p", "maxNodes": 2, **fields})


def _matches(expressions: list[dict[str, Any]], labels: dict[str, str]) -> bool:
    return all(labels.get(e["key"]) in e["values"] for e in expressions if e["operator"] == "In")


def test_whole_gpu_nodes_offer_gpus_per_node_as_nvidia_com_gpu() -> None:
    pool = _pool(gpu="H100-80GB", gpusPerNode=8)
    assert accelerator_allocatable(pool) == {"nvidia.com/gpu": "8"}


def test_mixed_nodes_offer_each_profile_times_gpus_per_node() -> None:
    pool = _pool(gpu="H100-80GB", gpusPerNode=2, migStrategy="mixed", migLayout={"3g.40gb": 1, "1g.10gb": 2})
    assert accelerator_allocatable(pool) == {"nvidia.com/mig-3g.40gb": "2", "nvidia.com/mig-1g.10gb": "4"}


def test_single_nodes_offer_mig_instances_as_nvidia_com_gpu_and_relabel_the_product() -> None:
    pool = _pool(gpu="A100-80GB", gpusPerNode=2, migStrategy="single", migLayout={"1g.10gb": 7})
    node = node_manifest(pool, 0)
    assert node["status"]["allocatable"]["nvidia.com/gpu"] == "14"
    assert node["metadata"]["labels"]["nvidia.com/gpu.product"].endswith("-MIG-1g.10gb")
    assert node["metadata"]["labels"]["nvidia.com/gpu.count"] == "14"


def test_cpu_and_memory_come_from_the_pool_sizes() -> None:
    node = node_manifest(_pool(cpuPerNode=16, memoryGibPerNode=64), 0)
    assert node["status"]["allocatable"]["cpu"] == "16"
    assert node["status"]["allocatable"]["memory"] == "64Gi"
    assert node["spec"]["taints"] == []


@pytest.mark.parametrize("raw", PROD_POOLS, ids=[p["name"] for p in PROD_POOLS])
def test_every_prod_pool_node_satisfies_the_affinity_the_program_derives(raw: dict[str, Any]) -> None:
    pool = stack_node_pools([raw])[0]
    labels = node_manifest(pool, 0)["metadata"]["labels"]
    assert _matches(node_requirements(pool), labels)


@pytest.mark.parametrize("raw", PROD_POOLS, ids=[p["name"] for p in PROD_POOLS])
def test_every_prod_pool_node_taint_is_tolerated_by_the_pools_pods(raw: dict[str, Any]) -> None:
    pool = stack_node_pools([raw])[0]
    gpu = {"gpu": 1} if pool.gpu else {}
    profile = {"migProfile": next(iter(pool.mig_layout))} if pool.mig_layout else {}
    scheduling = pod_scheduling(
        pool, Resources.model_validate({"cpu": "1", "memory": "1Gi", **gpu, **profile})
    )
    tolerated = {(t["key"], t.get("value", ""), t["effect"]) for t in scheduling.tolerations}
    for taint in node_manifest(pool, 0)["spec"]["taints"]:
        assert (taint["key"], taint.get("value", ""), taint["effect"]) in tolerated or any(
            t["key"] == taint["key"] and t["operator"] == "Exists" for t in scheduling.tolerations
        )
    for name in scheduling.resource_limits:
        if name.startswith("nvidia.com/"):
            assert name in node_manifest(pool, 0)["status"]["allocatable"]


def test_each_pool_gets_max_nodes_nodes() -> None:
    pools = stack_node_pools(PROD_POOLS)
    names = [n["metadata"]["name"] for n in pool_nodes(pools)]
    assert len(names) == sum(p.max_nodes for p in pools) == len(set(names))


def test_installed_crds_never_name_a_conversion_webhook() -> None:
    crds = [crd for path in sorted(SCHEMAS.glob("*.yaml")) for crd in crd_documents(path)]
    assert crds
    assert forbidden_objects(crds) == []


def test_a_conversion_webhook_is_named_as_forbidden() -> None:
    crd = {
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "x"},
        "spec": {"conversion": {"strategy": "Webhook"}},
    }
    assert forbidden_objects([crd, {"kind": "APIService", "metadata": {"name": "v1.x"}}]) == [
        "CustomResourceDefinition/x (conversion webhook)",
        "APIService/v1.x",
    ]
