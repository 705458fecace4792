"""Each resource policy of the pack, on a Deployment that meets them all and on one broken field at a time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .harness import DEPLOYMENT, DIGEST, changed, deployment, pod, resource_violations, server

JOB = "kubernetes:batch/v1:Job"
SERVICE = "kubernetes:core/v1:Service"
MANDATORY_RESOURCE_POLICIES = [
    "images-by-digest",
    "probes-on-exposed-ports",
    "accelerators-requests-equal-limits",
    "restricted-pod-security",
]


@pytest.mark.parametrize("name", [*MANDATORY_RESOURCE_POLICIES, "topology-spread", "resource-requests-set"])
def test_a_hardened_gpu_deployment_passes(name: str) -> None:
    assert resource_violations(name, DEPLOYMENT, deployment()) == []


# --- images-by-digest -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.com/llm/server:1.2",
        "registry.example.com/llm/server:latest",
        "registry.example.com/llm/server",
        f"server@{DIGEST[:-1]}",
    ],
)
def test_images_by_digest_refuses_a_container_image_without_a_digest(image: str) -> None:
    props = changed(deployment(), lambda d: server(d).update(image=image))
    [message] = resource_violations("images-by-digest", DEPLOYMENT, props)
    assert f"container 'server' uses image {image!r}, which is not pinned by digest" in message


def test_images_by_digest_checks_init_containers() -> None:
    props = changed(
        deployment(), lambda d: pod(d).update(initContainers=[{"name": "fetch", "image": "busybox:1.36"}])
    )
    [message] = resource_violations("images-by-digest", DEPLOYMENT, props)
    assert "initContainer 'fetch'" in message


def test_images_by_digest_checks_image_volumes() -> None:
    volume = {"name": "weights", "image": {"reference": "registry.example.com/weights:v1"}}
    props = changed(deployment(), lambda d: pod(d)["volumes"].append(volume))
    [message] = resource_violations("images-by-digest", DEPLOYMENT, props)
    assert "image volume 'weights'" in message


def test_images_by_digest_checks_jobs_too() -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "smoke"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "python:3.12"}]}}},
    }
    assert len(resource_violations("images-by-digest", JOB, job)) == 1


@given(tag=st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True))
def test_images_by_digest_refuses_every_tag(tag: str) -> None:
    props = changed(deployment(), lambda d: server(d).update(image=f"registry.example.com/m:{tag}"))
    assert len(resource_violations("images-by-digest", DEPLOYMENT, props)) == 1


# --- probes ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("probe", ["livenessProbe", "readinessProbe"])
def test_probes_policy_requires_liveness_and_readiness(probe: str) -> None:
    props = changed(deployment(), lambda d: server(d).pop(probe))
    [message] = resource_violations("probes-on-exposed-ports", DEPLOYMENT, props)
    assert f"container 'server' has no {probe}" in message


@pytest.mark.parametrize("port", ["grpc", 9000])
def test_probes_policy_refuses_a_probe_aimed_at_an_unexposed_port(port: object) -> None:
    props = changed(deployment(), lambda d: server(d)["startupProbe"]["httpGet"].update(port=port))
    [message] = resource_violations("probes-on-exposed-ports", DEPLOYMENT, props)
    assert f"startupProbe targets port {port!r}, which the container does not expose" in message


def test_probes_policy_accepts_a_tcp_probe_on_a_named_port() -> None:
    props = changed(
        deployment(), lambda d: server(d).update(livenessProbe={"tcpSocket": {"port": "metrics"}})
    )
    assert resource_violations("probes-on-exposed-ports", DEPLOYMENT, props) == []


def test_probes_policy_leaves_jobs_alone() -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "smoke"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}},
    }
    assert resource_violations("probes-on-exposed-ports", JOB, job) == []


# --- accelerators ---------------------------------------------------------------------------------------


def test_accelerators_policy_refuses_requests_below_limits() -> None:
    props = changed(
        deployment(), lambda d: server(d)["resources"]["requests"].update({"nvidia.com/gpu": "0"})
    )
    [message] = resource_violations("accelerators-requests-equal-limits", DEPLOYMENT, props)
    assert "requests '0' but limits '1' of nvidia.com/gpu" in message


def test_accelerators_policy_refuses_a_limit_without_a_request() -> None:
    resource = "nvidia.com/mig-3g.40gb"
    props = changed(deployment(), lambda d: server(d)["resources"]["limits"].update({resource: 1}))
    [message] = resource_violations("accelerators-requests-equal-limits", DEPLOYMENT, props)
    assert f"requests None but limits 1 of {resource}" in message


def test_accelerators_policy_treats_engine_floats_as_equal_quantities() -> None:
    props = changed(deployment(), lambda d: server(d)["resources"]["limits"].update({"nvidia.com/gpu": 1.0}))
    assert resource_violations("accelerators-requests-equal-limits", DEPLOYMENT, props) == []


def test_accelerators_policy_requires_the_gpu_taint_to_be_tolerated() -> None:
    props = changed(deployment(), lambda d: pod(d).pop("tolerations"))
    [message] = resource_violations("accelerators-requests-equal-limits", DEPLOYMENT, props)
    assert "does not tolerate the GPU taint nvidia.com/gpu=present:NoSchedule" in message


@pytest.mark.parametrize(
    ("toleration", "tolerated"),
    [
        ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}, True),
        ({"key": "nvidia.com/gpu", "operator": "Exists"}, True),
        ({"operator": "Exists"}, True),
        ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}, False),
        ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "gpu", "operator": "Exists"}, False),
    ],
)
def test_accelerators_policy_matches_tolerations_like_kubernetes(
    toleration: dict[str, str], tolerated: bool
) -> None:
    props = changed(deployment(), lambda d: pod(d).update(tolerations=[toleration]))
    assert (resource_violations("accelerators-requests-equal-limits", DEPLOYMENT, props) == []) is tolerated


def test_accelerators_policy_takes_the_gpu_taint_from_config() -> None:
    props = changed(
        deployment(),
        lambda d: pod(d).update(tolerations=[{"key": "sku", "value": "gpu", "effect": "NoSchedule"}]),
    )
    config = {"gpuTaint": {"key": "sku", "value": "gpu", "effect": "NoSchedule"}}
    assert resource_violations("accelerators-requests-equal-limits", DEPLOYMENT, props, config) == []


def test_accelerators_policy_ignores_cpu_pods_without_tolerations() -> None:
    def cpu_only(d: dict) -> None:
        for kind in ("requests", "limits"):
            server(d)["resources"][kind].pop("nvidia.com/gpu")
        pod(d).pop("tolerations")

    assert (
        resource_violations("accelerators-requests-equal-limits", DEPLOYMENT, changed(deployment(), cpu_only))
        == []
    )


# --- restricted pod security ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: server(d)["securityContext"].pop("allowPrivilegeEscalation"),
            "does not set allowPrivilegeEscalation: false",
        ),
        (lambda d: pod(d)["securityContext"].pop("runAsNonRoot"), "does not set runAsNonRoot: true"),
        (lambda d: server(d)["securityContext"].update(runAsUser=0), "runs as user 0"),
        (lambda d: pod(d)["securityContext"].pop("seccompProfile"), "has no seccompProfile"),
        (
            lambda d: server(d)["securityContext"].update(capabilities={"drop": ["NET_RAW"]}),
            "does not drop ALL capabilities",
        ),
        (
            lambda d: server(d)["securityContext"]["capabilities"].update(add=["SYS_ADMIN"]),
            "adds capabilities SYS_ADMIN",
        ),
        (lambda d: server(d)["securityContext"].update(privileged=True), "is privileged"),
        (lambda d: server(d)["ports"][0].update(hostPort=8000), "uses a hostPort"),
        (lambda d: pod(d).update(hostNetwork=True), "pod sets hostNetwork: true"),
        (
            lambda d: pod(d)["volumes"].append({"name": "dev", "hostPath": {"path": "/dev"}}),
            "mounts a hostPath volume 'dev'",
        ),
    ],
)
def test_restricted_pod_security_refuses(change, expected: str) -> None:
    violations = resource_violations("restricted-pod-security", DEPLOYMENT, changed(deployment(), change))
    assert len(violations) == 1
    assert expected in violations[0]
    assert "restricted Pod Security Standard" in violations[0]


def test_restricted_pod_security_accepts_container_level_settings() -> None:
    def move_to_container(d: dict) -> None:
        pod(d)["securityContext"] = {}
        server(d)["securityContext"].update(
            runAsNonRoot=True, seccompProfile={"type": "Localhost", "localhostProfile": "p.json"}
        )

    assert (
        resource_violations("restricted-pod-security", DEPLOYMENT, changed(deployment(), move_to_container))
        == []
    )


def test_restricted_pod_security_allows_net_bind_service() -> None:
    props = changed(
        deployment(), lambda d: server(d)["securityContext"]["capabilities"].update(add=["NET_BIND_SERVICE"])
    )
    assert resource_violations("restricted-pod-security", DEPLOYMENT, props) == []


# --- services -------------------------------------------------------------------------------------------


def service(kind: str, namespace: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": namespace},
        "spec": {"type": kind, "ports": [{"port": 80}]},
    }


@pytest.mark.parametrize("kind", ["LoadBalancer", "NodePort"])
def test_public_services_are_refused_outside_the_gateway(kind: str) -> None:
    [message] = resource_violations("no-public-services-outside-gateway", SERVICE, service(kind, "ml"))
    assert f"A Service of type {kind} exposes a model outside the mesh" in message


def test_the_gateway_namespace_may_have_a_load_balancer() -> None:
    assert (
        resource_violations(
            "no-public-services-outside-gateway", SERVICE, service("LoadBalancer", "istio-ingress")
        )
        == []
    )


def test_cluster_ip_services_pass() -> None:
    assert (
        resource_violations("no-public-services-outside-gateway", SERVICE, service("ClusterIP", "ml")) == []
    )


# --- advisory -------------------------------------------------------------------------------------------


def test_topology_spread_is_recommended() -> None:
    props = changed(deployment(), lambda d: pod(d).pop("topologySpreadConstraints"))
    [message] = resource_violations("topology-spread", DEPLOYMENT, props)
    assert "no topologySpreadConstraints" in message


@pytest.mark.parametrize(
    ("kind", "resource"), [("requests", "cpu"), ("requests", "memory"), ("limits", "memory")]
)
def test_resource_requests_are_recommended(kind: str, resource: str) -> None:
    props = changed(deployment(), lambda d: server(d)["resources"][kind].pop(resource))
    [message] = resource_violations("resource-requests-set", DEPLOYMENT, props)
    assert f"does not set {kind}.{resource}" in message
