"""`modelstack capacity` against kube-scheduler: the plan's verdict per version, pod for pod.

One pool per case, each holding one version, every pool at `maxNodes` simulated nodes (the supply the
plan counts):

- `whole`:  2 whole H100s, 2 replicas of 1 GPU — fits exactly;
- `mixed`:  one H100 cut 3g.40gb + 2g.20gb + 2× 1g.10gb (`mixed`), a 3g.40gb version scaled to 2 —
  one replica too many for the profile;
- `single`: one A100-80GB cut 7× 1g.10gb (`single`: seven `nvidia.com/gpu`, product relabelled
  `…-MIG-1g.10gb`), scaled to 8 — one too many;
- `cpu`:    a 4-CPU node, 1-CPU replicas scaled to 5 — one too many, although the GPU nodes have CPUs
  to spare (their taint keeps CPU pods off).

The render's objects are applied as they are (the real engine writes the same objects field for field:
tests/engine/test_dev_stack.py); each Deployment is then scaled to its `replicas.max`, as the autoscaler
would. The plan predicts, per version, how many replicas are bound and which resource stops the rest;
the scheduler's `PodScheduled` conditions must say the same.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.cluster import LocalCluster
from tests.cluster.nodes import pool_nodes, stack_node_pools
from tests.cluster.stacks import run_modelstack
from tests.engine.engine import ROOT, read_objects

STACK = "placement"
NAMESPACE = "ms-placement"
DIGEST = "617463c1965054fa4390857246a0cfc920baa61a012021f247ea76efca038a4b"

POOLS = [
    {
        "name": "whole",
        "gpu": "H100-80GB",
        "gpusPerNode": 2,
        "maxNodes": 1,
        "cpuPerNode": 64,
        "memoryGibPerNode": 512,
    },
    {
        "name": "mixed",
        "gpu": "H100-80GB",
        "gpusPerNode": 1,
        "migStrategy": "mixed",
        "migLayout": {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 2},
        "maxNodes": 1,
        "cpuPerNode": 32,
        "memoryGibPerNode": 256,
    },
    {
        "name": "single",
        "gpu": "A100-80GB",
        "gpusPerNode": 1,
        "migStrategy": "single",
        "migLayout": {"1g.10gb": 7},
        "maxNodes": 1,
        "cpuPerNode": 32,
        "memoryGibPerNode": 256,
    },
    {"name": "cpu", "maxNodes": 1, "cpuPerNode": 4, "memoryGibPerNode": 16},
]

# model -> (server, pool, resources, replicas)
VERSIONS: dict[str, tuple[str, str, dict[str, Any], dict[str, int]]] = {
    "llm": ("vllm", "whole", {"cpu": "8", "memory": "64Gi", "gpu": 1}, {"min": 2, "max": 2}),
    "detector": (
        "triton",
        "mixed",
        {"cpu": "2", "memory": "8Gi", "gpu": 1, "migProfile": "3g.40gb"},
        {"min": 1, "max": 2},
    ),
    "tagger": (
        "triton",
        "single",
        {"cpu": "1", "memory": "4Gi", "gpu": 1, "migProfile": "1g.10gb"},
        {"min": 7, "max": 8},
    ),
    "embedder": ("triton", "cpu", {"cpu": "1", "memory": "2Gi"}, {"min": 4, "max": 5}),
}


@dataclass(frozen=True)
class Prediction:
    replicas: int
    bound: int
    short_of: str | None
    """The resource the plan says runs out (None when every replica fits)."""


@dataclass
class Placement:
    plan: dict[str, Any]
    pods: dict[str, list[dict[str, Any]]]
    """model -> its pods as the API server reports them after scaling to replicas.max."""


def write_project(where: Path) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", where / "Pulumi.yaml")
    stack = {
        "config": {
            "modelstack:namespace": NAMESPACE,
            "modelstack:kubernetes": {"target": "render", "renderDir": "build/placement"},
            "modelstack:buildImages": False,
            "modelstack:nodePools": POOLS,
            # The local control plane runs no Istio injector, so its pods get no sidecar: the ambient data
            # plane (no sidecar, none counted in the plan) is what the scheduler here sees.
            "modelstack:istio": {"dataplane": "ambient"},
            "modelstack:monitoring": {"prometheusServiceAccount": "monitoring/prometheus-k8s"},
        }
    }
    (where / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump(stack, sort_keys=False))
    models = {
        name: {
            "server": server,
            "versions": {
                "v1": {
                    "image": f"registry.example.com/{name}@sha256:{DIGEST}",
                    "weight": 100,
                    "nodePool": pool,
                    "resources": resources,
                    "replicas": replicas,
                }
            },
        }
        for name, (server, pool, resources, replicas) in VERSIONS.items()
    }
    (where / "models.yaml").write_text(
        yaml.safe_dump({"apiVersion": "modelstack/v1", "models": models}, sort_keys=False)
    )
    return where


def predict(plan: dict[str, Any], model: str) -> Prediction:
    """Replicas bound at `replicas.max` by the plan's own numbers: per node, per replica, maxNodes."""
    pool = next(p for p in plan["pools"] if p["pool"] == VERSIONS[model][1])
    per_node_fit: list[tuple[int, str]] = []
    replicas = 0
    for dimension in pool["resources"]:
        for claim in dimension["versions"]:
            if claim["model"] == model:
                replicas = claim["replicas"]["max"]
                fit = int(Fraction(str(dimension["perNode"])) // Fraction(str(claim["perReplica"])))
                per_node_fit.append((fit, dimension["resource"]))
    fit, resource = min(per_node_fit)
    bound = min(replicas, fit * pool["maxNodes"])
    assert pool["fits"]["max"] == (bound == replicas), pool  # the plan's verdict agrees with its numbers
    return Prediction(replicas, bound, None if bound == replicas else resource)


@pytest.fixture(scope="module")
def placement(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Placement]:
    cluster.kubectl("delete", "nodes", "--all", "--wait=true", "--timeout=60s")
    project = write_project(tmp_path_factory.mktemp("placement"))
    capacity = run_modelstack(project, "capacity", "--stack", STACK, "--json")
    assert capacity.returncode == 0, capacity.stderr
    plan = json.loads(capacity.stdout)
    render = run_modelstack(project, "render", "--stack", STACK, "--out", str(project / "out"))
    assert render.returncode == 0, render.stderr
    objects = read_objects(project / "out")
    nodes = cluster.add_nodes(pool_nodes(stack_node_pools(POOLS)))
    namespaces = [body for key, body in objects.items() if key[1] == "Namespace"]
    try:
        cluster.apply(namespaces)
        cluster.apply(body for key, body in objects.items() if key[1] != "Namespace")
        for model, (_, _, _, replicas) in VERSIONS.items():
            cluster.kubectl(
                "scale", "deployment", f"{model}-v1", "-n", NAMESPACE, f"--replicas={replicas['max']}"
            )
        pods = cluster.wait_for(
            "every pod scheduled or reported unschedulable", lambda: _settled(cluster), timeout=90
        )
        yield Placement(plan, pods)
    finally:
        cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=true", "--timeout=120s", check=False)
        for key, _ in objects.items():
            if key[2] in ("monitoring", "gpu-operator"):
                cluster.kubectl("delete", key[1], key[3], "-n", key[2], "--ignore-not-found", check=False)
        cluster.kubectl("delete", "node", *nodes, "--wait=false", check=False)


def _settled(cluster: LocalCluster) -> dict[str, list[dict[str, Any]]] | None:
    pods = cluster.items("pods", "-n", NAMESPACE)
    by_model: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        by_model.setdefault(pod["metadata"]["labels"].get("app.kubernetes.io/name", "?"), []).append(pod)
    for model, (_, _, _, replicas) in VERSIONS.items():
        mine = by_model.get(model, [])
        if len(mine) != replicas["max"] or any(_scheduled(p) is None for p in mine):
            return None
    return by_model


def _scheduled(pod: dict[str, Any]) -> bool | None:
    """True when bound (and on a Ready KWOK node, Running), False when the scheduler gave up, else None."""
    for entry in (pod.get("status") or {}).get("conditions") or []:
        if entry["type"] == "PodScheduled":
            if entry["status"] == "True":
                return True
            if entry.get("reason") == "Unschedulable":
                return False
    return None


@pytest.mark.parametrize("model", sorted(VERSIONS))
def test_scheduler_binds_as_many_replicas_as_the_capacity_plan_predicts(
    placement: Placement, model: str
) -> None:
    expected = predict(placement.plan, model)
    pods = placement.pods[model]
    bound = [p for p in pods if _scheduled(p)]
    assert (len(pods), len(bound)) == (expected.replicas, expected.bound), [
        (p["metadata"]["name"], p["spec"].get("nodeName"), p["status"].get("conditions")) for p in pods
    ]


@pytest.mark.parametrize("model", sorted(VERSIONS))
def test_unschedulable_replicas_are_short_of_the_resource_the_plan_names(
    placement: Placement, model: str
) -> None:
    expected = predict(placement.plan, model)
    pending = [p for p in placement.pods[model] if _scheduled(p) is False]
    if expected.short_of is None:
        assert not pending
        return
    for pod in pending:
        message = next(c["message"] for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
        assert f"Insufficient {expected.short_of}" in message, message


def test_cpu_replicas_stay_off_gpu_nodes_with_spare_cpu(placement: Placement) -> None:
    pending = [p for p in placement.pods["embedder"] if _scheduled(p) is False]
    assert pending, "the plan has one embedder replica too many for the cpu pool"
    message = next(c["message"] for c in pending[0]["status"]["conditions"] if c["type"] == "PodScheduled")
    # The scheduler's own words. Its default profile filters with TaintToleration before NodeAffinity and
    # stops at a node's first failing filter, so the GPU nodes are excluded by their taint, and the CPU
    # pool's nodes by the CPU they lack.
    assert "untolerated taint" in message, message
    assert "didn't match Pod's node affinity/selector" not in message, message
    assert "Insufficient cpu" in message, message


def test_bound_pods_run_on_nodes_of_their_pool(placement: Placement, cluster: LocalCluster) -> None:
    nodes = {n["metadata"]["name"]: n for n in cluster.items("nodes")}
    for model, pods in placement.pods.items():
        pool = VERSIONS[model][1]
        for pod in pods:
            if _scheduled(pod):
                labels = nodes[pod["spec"]["nodeName"]]["metadata"]["labels"]
                assert labels["modelstack.io/node-pool"] == pool
