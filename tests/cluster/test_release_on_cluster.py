"""The release flow under the real engine, into the real API server, scheduler and controllers.

Each step is a commit of `models.yaml` applied with `pulumi up`, and each is asserted on what the
cluster and the engine report: the objects' generations and specs on the API server, and the order of
the engine's steps in `pulumi up --event-log`. The tests of this module share one stack and run in file
order, each step starting where the previous one left the stack.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.cluster import LocalCluster
from tests.cluster.nodes import pool_nodes, stack_node_pools
from tests.cluster.stacks import condition, platform_objects, write_stack_file
from tests.engine.catalog_edits import add_version, edit_catalog, set_config, set_weights
from tests.engine.engine import (
    Pulumi,
    Stack,
    StepEvent,
    engine_operations,
    git,
    new_stack,
    offline_render,
    step_at,
)

STACK = "release"
NAMESPACE = "ms-release"
ISTIO = "networking.istio.io"
VIRTUAL_SERVICE = (ISTIO, "VirtualService", NAMESPACE, "llm-chat")


@dataclass
class Release:
    cluster: LocalCluster
    stack: Stack
    where: Path
    saved: dict[str, Any] = field(default_factory=dict)
    """What one step records for a later one (the routing specs before a change, say)."""

    @property
    def project(self) -> Path:
        return self.stack.project

    def up(self) -> list[StepEvent]:
        """`pulumi up`, returning the engine's steps in the order it took them."""
        return self.stack.up_with_events()

    def get(self, resource: str, name: str) -> dict[str, Any] | None:
        out = self.cluster.kubectl(
            "get", resource, name, "-n", NAMESPACE, "-o", "json", "--ignore-not-found"
        ).stdout.strip()
        return json.loads(out) if out else None

    def must_get(self, resource: str, name: str) -> dict[str, Any]:
        body = self.get(resource, name)
        assert body is not None, f"{resource}/{name} is not on the API server"
        return body

    def names(self, resource: str) -> set[str]:
        return {item["metadata"]["name"] for item in self.cluster.items(resource, "-n", NAMESPACE)}


@pytest.fixture(scope="module")
def release(
    cluster: LocalCluster, cluster_engine: Pulumi, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Release]:
    where = tmp_path_factory.mktemp("release-on-cluster")
    with new_stack(cluster_engine, where, STACK) as stack:
        config = write_stack_file(stack.project, STACK, cluster, NAMESPACE)
        git(stack.project, "add", f"Pulumi.{STACK}.yaml")
        git(stack.project, "commit", "--quiet", "-m", "the release test's stack")
        nodes = pool_nodes(stack_node_pools(config["modelstack:nodePools"]))
        names = [n["metadata"]["name"] for n in nodes]
        # Another module of this worker may have used the same node names; its deletion must be over.
        cluster.kubectl("delete", "node", *names, "--ignore-not-found", "--wait=true", check=False)
        cluster.add_nodes(nodes)
        try:
            objects, _ = offline_render(stack.project, STACK, where / "offline")
            with platform_objects(cluster, NAMESPACE, objects) as errors:
                released = Release(cluster, stack, where)
                released.up()
            assert not errors, errors
            yield released
        finally:
            stack.destroy()
            cluster.kubectl("delete", "node", *names, "--wait=false", check=False)


def _routes(virtual_service: dict[str, Any]) -> dict[str, int]:
    """Weight by subset of the weighted (last) route, as the API server stores it."""
    weighted = virtual_service["spec"]["http"][-1]["route"]
    return {entry["destination"]["subset"]: entry.get("weight", 0) for entry in weighted}


def _generations(release: Release, resource: str) -> dict[str, int]:
    return {
        item["metadata"]["name"]: item["metadata"]["generation"]
        for item in release.cluster.items(resource, "-n", NAMESPACE)
    }


def test_a_weight_change_is_one_update_of_the_virtual_service(release: Release) -> None:
    release.saved["routing"] = {
        "virtualservice": release.must_get("virtualservice.networking.istio.io", "llm-chat")["spec"],
        "destinationrule": release.must_get("destinationrule.networking.istio.io", "llm-chat")["spec"],
    }
    deployments = _generations(release, "deployments")
    edit_catalog(release.project, set_weights("llm-chat", v1=80, v2=20), "llm-chat: v2 to 20 %")

    assert engine_operations(release.stack.preview()) == {VIRTUAL_SERVICE: "update"}
    before = release.must_get("virtualservice.networking.istio.io", "llm-chat")["metadata"]["generation"]
    release.up()

    virtual_service = release.must_get("virtualservice.networking.istio.io", "llm-chat")
    assert _routes(virtual_service) == {"v1": 80, "v2": 20}
    assert virtual_service["metadata"]["generation"] == before + 1
    assert _generations(release, "deployments") == deployments, "a weight change touched a workload"


def test_a_new_version_is_available_before_its_routes_change(release: Release) -> None:
    release.saved["before-v3"] = {
        "virtualservice": release.must_get("virtualservice.networking.istio.io", "llm-chat")["spec"],
        "destinationrule": release.must_get("destinationrule.networking.istio.io", "llm-chat")["spec"],
    }
    with_v3, make_room = add_version("llm-chat", "v2", "v3", weight=10), set_weights("llm-chat", v1=70, v2=20)
    edit_catalog(release.project, lambda models: (with_v3(models), make_room(models)), "llm-chat: v3 at 10 %")
    events = release.up()

    deployment = release.must_get("deployment", "llm-chat-v3")
    assert condition(deployment, "Available") == "True", deployment.get("status")
    pods = release.cluster.items("pods", "-n", NAMESPACE, "-l", "app=llm-chat,version=v3")
    assert pods and all(pod["spec"].get("nodeName", "").startswith("gpu-h100-") for pod in pods)
    assert _routes(release.must_get("virtualservice.networking.istio.io", "llm-chat")) == {
        "v1": 70,
        "v2": 20,
        "v3": 10,
    }
    # The engine finished the Deployment (its await: Available) before it started on the routes.
    available = step_at(events, "done", "create", "llm-chat-v3", "Deployment")
    routed = step_at(events, "start", "update", "llm-chat-virtual-service")
    assert available < routed, (available, routed)


def test_git_revert_and_up_return_the_cluster_to_the_previous_state(release: Release) -> None:
    git(release.project, "revert", "--no-edit", "HEAD")
    release.up()

    assert release.get("deployment", "llm-chat-v3") is None
    assert release.get("service", "llm-chat-v3") is None
    assert release.get("persistentvolumeclaim", "llm-chat-v3-weights") is None
    assert release.get("destinationrule.networking.istio.io", "llm-chat-v3") is None
    before = release.saved["before-v3"]
    assert (
        release.must_get("virtualservice.networking.istio.io", "llm-chat")["spec"] == before["virtualservice"]
    )
    assert (
        release.must_get("destinationrule.networking.istio.io", "llm-chat")["spec"]
        == before["destinationrule"]
    )


def test_a_changed_config_is_a_new_immutable_config_map_never_an_edit(release: Release) -> None:
    old = {name for name in release.names("configmaps") if name.startswith("llm-chat-v2-")}
    assert len(old) == 1, old
    edit_catalog(release.project, set_config("llm-chat", "v2", max_num_seqs="128"), "llm-chat v2: 128 seqs")

    operations = engine_operations(release.stack.preview())
    config_maps = {key[3]: op for key, op in operations.items() if key[1] == "ConfigMap"}
    assert sorted(config_maps.values()) == ["create", "delete"], operations
    release.up()

    new = {name for name in release.names("configmaps") if name.startswith("llm-chat-v2-")}
    assert len(new) == 1 and new != old, (old, new)
    (name,) = new
    config_map = release.must_get("configmap", name)
    assert config_map["immutable"] is True
    assert config_map["data"]["max_num_seqs"] == "128"
    pod = release.must_get("deployment", "llm-chat-v2")["spec"]["template"]["spec"]
    assert name in json.dumps(pod), "the Deployment does not read the new ConfigMap"
    # And the API server would indeed have refused the in-place edit the new name avoids.
    refused = release.cluster.kubectl(
        "patch",
        "configmap",
        name,
        "-n",
        NAMESPACE,
        "--type=merge",
        "-p",
        '{"data":{"max_num_seqs":"1"}}',
        check=False,
    )
    assert refused.returncode != 0 and "immutable" in refused.stderr, refused.stderr
