"""The prod-shaped stack under the real engine, into a real API server, scheduler and controllers.

Asserted on what the cluster reports: each object the program declares exists on the API server;
every Deployment's `Available` condition is True with its pods bound by kube-scheduler to nodes of the
version's pool; the smoke-test Job is `Complete` and the VirtualService was created only after it; a
second preview against the live cluster plans nothing; destroy removes every object and the namespace.

The tests of this module share one `pulumi up` and run in file order; the last one destroys it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster
from tests.cluster.nodes import pool_nodes, stack_node_pools
from tests.cluster.stacks import api_objects, condition, platform_objects, write_stack_file
from tests.engine.engine import ObjectId, Pulumi, Stack, engine_operations, new_stack, offline_render

STACK = "cluster"
NAMESPACE = "ms-prod-cluster"


@dataclass
class Deployed:
    cluster: LocalCluster
    stack: Stack
    config: dict[str, Any]
    objects: dict[ObjectId, dict[str, Any]]
    """The render of the same program, used only to know which objects to look up on the server."""


@pytest.fixture(scope="module")
def deployed(
    cluster: LocalCluster, cluster_engine: Pulumi, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    where = tmp_path_factory.mktemp("prod-on-cluster")
    with new_stack(cluster_engine, where, STACK) as stack:
        config = write_stack_file(stack.project, STACK, cluster, NAMESPACE)
        nodes = cluster.add_nodes(pool_nodes(stack_node_pools(config["modelstack:nodePools"])))
        try:
            objects, _ = offline_render(stack.project, STACK, where / "offline")
            with platform_objects(cluster, NAMESPACE, objects) as errors:
                stack.up()
            assert not errors, errors
            yield Deployed(cluster, stack, config, objects)
        finally:
            stack.destroy()
            cluster.kubectl("delete", "node", *nodes, "--wait=false", check=False)


def _of_kind(deployed: Deployed, kind: str) -> dict[ObjectId, dict[str, Any] | None]:
    return api_objects(deployed.cluster, [key for key in deployed.objects if key[1] == kind])


def test_every_declared_object_is_accepted_by_the_api_server(deployed: Deployed) -> None:
    on_server = api_objects(deployed.cluster, sorted(deployed.objects))
    missing = [key for key, body in on_server.items() if body is None]
    assert not missing, f"{len(missing)} objects the program declares are not on the server: {missing}"


def test_objects_carry_the_fields_the_program_set_after_admission(deployed: Deployed) -> None:
    """Defaulting and admission may add fields, never drop or change one the program set."""
    on_server = api_objects(deployed.cluster, sorted(k for k in deployed.objects if k[1] != "Secret"))
    dropped = []
    for key, body in on_server.items():
        assert body is not None
        for path, value in _leaves(
            deployed.objects[key].get("spec") or deployed.objects[key].get("data") or {}
        ):
            if _lookup(body.get("spec") or body.get("data") or {}, path) != value:
                dropped.append(f"{key}: {'.'.join(map(str, path))} = {value!r}")
    assert not dropped, "the server does not keep:\n" + "\n".join(dropped[:20])


def test_every_deployment_becomes_available(deployed: Deployed) -> None:
    deployments = _of_kind(deployed, "Deployment")
    assert deployments
    for key, body in deployments.items():
        assert body is not None
        assert condition(body, "Available") == "True", (key, body.get("status"))
        status = body["status"]
        assert status.get("availableReplicas") == status.get("replicas") == body["spec"]["replicas"], (
            key,
            status,
        )


def test_weights_claims_are_bound_to_the_stacks_own_volumes(deployed: Deployed) -> None:
    """The namespace is the stack's, so are the claims: the PV controller binds each to its volume."""
    claims = _of_kind(deployed, "PersistentVolumeClaim")
    assert claims, "the prod catalog has volume weights"
    for key, claim in claims.items():
        assert claim is not None
        assert claim["status"].get("phase") == "Bound", (key, claim.get("status"))
        volume = deployed.cluster.kubectl("get", "pv", claim["spec"]["volumeName"], "-o", "json").stdout
        assert '"phase": "Bound"' in volume, (key, volume[-400:])


def test_scheduler_binds_each_pod_to_a_node_of_its_pool(deployed: Deployed) -> None:
    cluster = deployed.cluster
    nodes = {n["metadata"]["name"]: n["metadata"]["labels"] for n in cluster.items("nodes")}
    pods = cluster.items("pods", "-n", NAMESPACE)
    assert pods
    for pod in pods:
        spec = pod["spec"]
        wanted = spec.get("nodeSelector") or {}
        assert spec.get("nodeName") in nodes, (pod["metadata"]["name"], pod["status"])
        labels = nodes[spec["nodeName"]]
        assert all(labels.get(k) == v for k, v in wanted.items()), (pod["metadata"]["name"], spec["nodeName"])
        assert condition(pod, "PodScheduled") == "True"


def test_smoke_test_jobs_complete_before_the_routes_change(deployed: Deployed) -> None:
    jobs = _of_kind(deployed, "Job")
    assert jobs, "the prod catalog declares a smoke test"
    services = _of_kind(deployed, "VirtualService")
    for key, job in jobs.items():
        assert job is not None
        assert condition(job, "Complete") == "True", (key, job.get("status"))
        completed = _time(job["status"]["completionTime"])
        model = job["metadata"]["labels"].get("app.kubernetes.io/name")
        routed = [
            vs
            for vs in services.values()
            if vs and vs["metadata"]["labels"].get("app.kubernetes.io/name") == model
        ]
        assert routed, f"no VirtualService of {model}"
        for vs in routed:
            assert _time(vs["metadata"]["creationTimestamp"]) >= completed, (
                vs["metadata"]["name"],
                completed,
            )


def test_second_preview_against_the_cluster_shows_no_changes(deployed: Deployed) -> None:
    again = deployed.stack.preview("--expect-no-changes")
    assert engine_operations(again) == {}
    assert set(again.get("changeSummary", {})) <= {"same"}, again.get("changeSummary")


def test_destroy_removes_every_object_and_the_namespace(deployed: Deployed) -> None:
    stack = deployed.stack
    stack.run("destroy", "--stack", stack.name, "--yes", "--skip-preview")
    cluster = deployed.cluster
    cluster.wait_for(
        f"namespace {NAMESPACE} to be gone",
        lambda: cluster.kubectl("get", "namespace", NAMESPACE, "--ignore-not-found").stdout.strip() == "",
        timeout=120,
    )
    left = {
        key: body for key, body in api_objects(cluster, sorted(deployed.objects)).items() if body is not None
    }
    assert not left, f"still on the server after destroy: {sorted(left)}"


# --- helpers ------------------------------------------------------------------------------------------


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _lookup(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return None
    return value
