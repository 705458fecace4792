"""Items 1 and 3 of issue #20: the data plane is a stack setting that restricted Pod Security accepts, and
every preset's metrics are reachable by Prometheus under STRICT mutual TLS on that data plane."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.autoscaling.monitoring import pod_monitor_manifest
from components.catalog.errors import CatalogError
from components.catalog.model import ModelSpec
from components.catalog.stack_config import StackConfig
from components.stack import namespace_manifest
from components.traffic.access import (
    authorization_policy_manifest,
    metrics_authorization_policy_manifest,
    metrics_peer_authentication_manifest,
    namespace_peer_authentication_manifest,
)
from components.validation.loader import load_stack_config
from components.workload.model_version import deployment_manifest
from modelstack.engine.render import run_program, write_render
from tests.conftest import run_validator
from tests.foundation.catalog_project import STACK, line_of, make_project
from tests.upstream.facts import IMAGE, version_args
from tests.upstream.mesh_oracle import scrape_reaches_metrics

PROMETHEUS = "monitoring/prometheus-k8s"
STACKS = {
    "sidecar-cni": StackConfig.model_validate(
        {"namespace": "ml-test", "istio": {"dataplane": "sidecar-cni"}}
    ),
    "ambient": StackConfig.model_validate(
        {
            "namespace": "ml-test",
            "istio": {"dataplane": "ambient"},
            "monitoring": {"prometheusServiceAccount": PROMETHEUS},
        }
    ),
}
# Every preset, and the example server's shape (Triton's API with metrics on the HTTP port).
SERVERS: dict[str, dict[str, Any]] = {
    "vllm": {"server": "vllm", "precision": "bf16"},
    "tgi": {"server": "tgi", "precision": "bf16"},
    "triton": {"server": "triton"},
    "triton-shared-port": {"server": "triton", "overrides": {"metricsPort": 8000}},
    "custom": {
        "server": "custom",
        "overrides": {
            "port": 9000,
            "livenessPath": "/live",
            "readinessPath": "/ready",
            "queueMetric": "queue",
            "metrics": ["queue"],
        },
    },
}
L4_SOURCE = {"principals", "notPrincipals", "namespaces", "notNamespaces", "ipBlocks", "notIpBlocks"}
L4_OPERATION = {"ports", "notPorts"}


def _objects(server: str, dataplane: str) -> dict[str, Any]:
    case = SERVERS[server]
    spec = model_with_overrides(case["server"], case.get("overrides"), case.get("precision"))
    stack = STACKS[dataplane]
    pod = deployment_manifest(version_args(spec, stack), "image")["spec"]["template"]
    peers = [namespace_peer_authentication_manifest(stack.namespace)]
    if (peer := metrics_peer_authentication_manifest("m", spec, stack)) is not None:
        peers.append(peer)
    policies = [authorization_policy_manifest("m", spec, stack)]
    if (metrics := metrics_authorization_policy_manifest("m", spec, stack)) is not None:
        policies.append(metrics)
    return {
        "spec": spec,
        "stack": stack,
        "pod": pod,
        "pod_monitor": pod_monitor_manifest("m", spec, stack),
        "peers": peers,
        "policies": policies,
    }


def model_with_overrides(server: str, overrides: dict[str, Any] | None, precision: str | None) -> ModelSpec:
    version: dict[str, Any] = {"image": IMAGE, "weight": 100, "resources": {"cpu": "1", "memory": "1Gi"}}
    if precision:
        version["precision"] = precision
    body = {"server": server, "serverOverrides": overrides, "versions": {"v1": version}}
    return ModelSpec.model_validate(body)


@pytest.mark.parametrize("dataplane", sorted(STACKS))
@pytest.mark.parametrize("server", sorted(SERVERS))
def test_prometheus_reaches_every_presets_metrics_under_strict_mtls(server: str, dataplane: str) -> None:
    objects = _objects(server, dataplane)
    preset = objects["spec"].server_preset
    assert objects["peers"][0]["spec"] == {"mtls": {"mode": "STRICT"}}
    assert scrape_reaches_metrics(
        dataplane=dataplane,
        pod=objects["pod"],
        pod_monitor=objects["pod_monitor"],
        peer_authentications=objects["peers"],
        authorization_policies=objects["policies"],
        metrics_port=preset.metrics_port,
        metrics_path=preset.metrics_path,
        prometheus_principal="cluster.local/ns/monitoring/sa/prometheus-k8s"
        if dataplane == "ambient"
        else None,
    )


def test_the_serving_port_stays_strict_when_metrics_share_it() -> None:
    objects = _objects("vllm", "sidecar-cni")
    assert len(objects["peers"]) == 1  # no port-level exception: inference keeps mutual TLS
    endpoint = objects["pod_monitor"]["spec"]["podMetricsEndpoints"][0]
    assert (endpoint["portNumber"], endpoint["path"]) == (15020, "/stats/prometheus")


def test_scraping_the_serving_port_directly_would_be_refused() -> None:
    # What was rendered before: the PodMonitor on the `http` port, no merging, the port STRICT.
    objects = _objects("vllm", "sidecar-cni")
    pod = {**objects["pod"], "metadata": {"labels": objects["pod"]["metadata"]["labels"]}}
    monitor = {"spec": {"podMetricsEndpoints": [{"port": "http", "path": "/metrics"}]}}
    assert not scrape_reaches_metrics(
        dataplane="sidecar-cni",
        pod=pod,
        pod_monitor=monitor,
        peer_authentications=objects["peers"],
        authorization_policies=objects["policies"],
        metrics_port=8000,
        metrics_path="/metrics",
        prometheus_principal=None,
    )


def test_sidecar_cni_injects_sidecars_into_a_restricted_namespace() -> None:
    labels = namespace_manifest(STACKS["sidecar-cni"])["metadata"]["labels"]
    assert labels["istio-injection"] == "enabled"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_ambient_enrols_the_namespace_with_its_waypoint_and_injects_no_sidecar() -> None:
    labels = namespace_manifest(STACKS["ambient"])["metadata"]["labels"]
    assert labels["istio.io/dataplane-mode"] == "ambient"
    assert labels["istio.io/use-waypoint"] == "waypoint"
    assert "istio-injection" not in labels
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_ambient_callers_policy_attaches_to_every_service_of_the_model_at_the_waypoint() -> None:
    spec = model_with_overrides("triton", None, None)
    spec = spec.model_copy(update={"versions": {**spec.versions, "v2": spec.versions["v1"]}})
    policy = authorization_policy_manifest("m", spec, STACKS["ambient"])["spec"]
    assert "selector" not in policy
    assert policy["targetRefs"] == [
        {"group": "", "kind": "Service", "name": name} for name in ("m", "m-v1", "m-v2")
    ]


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_ambient_pod_policies_use_only_the_l4_attributes_ztunnel_enforces(server: str) -> None:
    for policy in _objects(server, "ambient")["policies"]:
        if "selector" not in policy["spec"]:
            continue
        for rule in policy["spec"]["rules"]:
            assert not rule.get("when")
            for source in rule.get("from", []):
                assert set(source["source"]) <= L4_SOURCE
            for target in rule.get("to", []):
                assert set(target["operation"]) <= L4_OPERATION


def test_ambient_leaves_no_plain_text_port() -> None:
    assert len(_objects("triton", "ambient")["peers"]) == 1


def _stack_error(tmp_path: Path, stack: str) -> str:
    root = make_project(tmp_path, stack=stack)
    with pytest.raises(CatalogError) as error:
        load_stack_config(root, "test")
    (problem,) = error.value.problems
    return str(problem)


def test_a_sidecar_data_plane_with_istio_init_is_a_located_stack_error(tmp_path: Path) -> None:
    stack = STACK + "  modelstack:istio: {dataplane: sidecar}\n"
    problem = _stack_error(tmp_path, stack)
    where = f"Pulumi.test.yaml:{line_of(stack, 'dataplane: sidecar')}:"
    assert f"{where}" in problem and "modelstack:istio.dataplane: " in problem
    assert "NET_ADMIN and NET_RAW" in problem and "sidecar-cni" in problem


def test_ambient_without_prometheus_identity_is_a_located_stack_error(tmp_path: Path) -> None:
    stack = STACK + "  modelstack:istio: {dataplane: ambient}\n"
    problem = _stack_error(tmp_path, stack)
    assert "modelstack:monitoring: " in problem and "prometheusServiceAccount" in problem


def test_an_ambient_stack_renders_manifests_a_cluster_accepts(tmp_path: Path) -> None:
    stack = STACK + (
        "  modelstack:istio: {dataplane: ambient}\n"
        f"  modelstack:monitoring: {{prometheusServiceAccount: {PROMETHEUS}}}\n"
    )
    (tmp_path / "p").mkdir()
    root = make_project(tmp_path / "p", stack=stack)
    render = run_program(root, "test")
    write_render(render, tmp_path / "out")
    result = run_validator(tmp_path / "out")
    assert result.returncode == 0, result.stdout
    kinds = {(m.kind, m.name) for m in render.manifests}
    assert ("PeerAuthentication", "llm-metrics") not in kinds
