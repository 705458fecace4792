"""Item 2 of issue #20: the injected Istio sidecar keeps the model's pods Guaranteed, and is counted.

Istio's injector sizes the `istio-proxy` container from the pod annotations `sidecar.istio.io/proxyCPU`,
`proxyCPULimit`, `proxyMemory` and `proxyMemoryLimit`, falling back to `global.proxy.resources` (requests
100m / 128Mi, limits 2000m / 1024Mi in Istio 1.22–1.31's `values.yaml`). Kubernetes puts a pod in the
Guaranteed QoS class only when every container has CPU and memory limits equal to its requests. Sources
and versions: docs/upstream-interfaces.md.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from components.catalog.model import ModelSpec
from components.catalog.stack_config import StackConfig
from components.gpu.capacity import PodOverhead, capacity_findings, plan_capacity
from components.workload.model_version import deployment_manifest
from tests.upstream.facts import IMAGE, version_args

# Istio's chart defaults (manifests/charts/istio-control/istio-discovery/values.yaml, global.proxy.resources).
ISTIO_DEFAULT_REQUESTS = {"cpu": "100m", "memory": "128Mi"}
ISTIO_DEFAULT_LIMITS = {"cpu": "2000m", "memory": "1024Mi"}
SIDECAR_STACK = {"namespace": "ml-test", "istio": {"dataplane": "sidecar-cni"}}
AMBIENT_STACK = {
    "namespace": "ml-test",
    "istio": {"dataplane": "ambient"},
    "monitoring": {"prometheusServiceAccount": "monitoring/prometheus-k8s"},
}


def injected_pod(template: dict[str, Any], dataplane: str) -> dict[str, Any]:
    """What Istio's sidecar injector makes of the pod template (only the resources matter here)."""
    if dataplane == "ambient":
        return template
    annotations = template["metadata"].get("annotations", {})
    requests = {
        "cpu": annotations.get("sidecar.istio.io/proxyCPU", ISTIO_DEFAULT_REQUESTS["cpu"]),
        "memory": annotations.get("sidecar.istio.io/proxyMemory", ISTIO_DEFAULT_REQUESTS["memory"]),
    }
    limits = {
        "cpu": annotations.get("sidecar.istio.io/proxyCPULimit", ISTIO_DEFAULT_LIMITS["cpu"]),
        "memory": annotations.get("sidecar.istio.io/proxyMemoryLimit", ISTIO_DEFAULT_LIMITS["memory"]),
    }
    proxy = {"name": "istio-proxy", "resources": {"requests": requests, "limits": limits}}
    return {**template, "spec": {**template["spec"], "containers": [*template["spec"]["containers"], proxy]}}


def qos_class(pod: dict[str, Any]) -> str:
    """Kubernetes' QoS rule (kubernetes.io/docs/concepts/workloads/pods/pod-qos, v1.30+): Guaranteed when
    every container limits CPU and memory and requests (defaulted to the limits) equal them."""
    containers = pod["spec"]["containers"]
    for container in containers:
        resources = container.get("resources", {})
        limits, requests = resources.get("limits", {}), resources.get("requests", {})
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                return "Burstable"
    return "Guaranteed"


def _model(**extra: Any) -> ModelSpec:
    version = {"image": IMAGE, "weight": 100, "resources": {"cpu": "1", "memory": "1Gi"}}
    return ModelSpec.model_validate({"server": "vllm", "versions": {"v1": version}, **extra})


def _template(spec: ModelSpec, stack: StackConfig) -> dict[str, Any]:
    manifest: dict[str, Any] = deployment_manifest(version_args(spec, stack), "image")["spec"]["template"]
    return manifest


def test_pods_with_the_injected_sidecar_are_guaranteed() -> None:
    stack = StackConfig.model_validate(SIDECAR_STACK)
    assert qos_class(injected_pod(_template(_model(), stack), "sidecar-cni")) == "Guaranteed"


def test_without_the_annotations_istios_defaults_would_make_the_pod_burstable() -> None:
    # What was rendered before: no sidecar annotations, so the injector's unequal defaults apply.
    template = _template(_model(), StackConfig.model_validate(SIDECAR_STACK))
    template["metadata"]["annotations"] = {
        k: v for k, v in template["metadata"].get("annotations", {}).items() if not k.startswith("sidecar.")
    }
    assert qos_class(injected_pod(template, "sidecar-cni")) == "Burstable"


def test_a_models_sidecar_resources_override_the_stacks() -> None:
    stack = StackConfig.model_validate(
        {
            **SIDECAR_STACK,
            "istio": {"dataplane": "sidecar-cni", "sidecarResources": {"cpu": "250m", "memory": "256Mi"}},
        }
    )
    spec = _model(sidecarResources={"cpu": "1", "memory": "512Mi"})
    annotations = _template(spec, stack)["metadata"]["annotations"]
    assert annotations["sidecar.istio.io/proxyCPU"] == annotations["sidecar.istio.io/proxyCPULimit"] == "1"
    assert (
        annotations["sidecar.istio.io/proxyMemory"]
        == annotations["sidecar.istio.io/proxyMemoryLimit"]
        == "512Mi"
    )
    default = _template(_model(), stack)["metadata"]["annotations"]
    assert (default["sidecar.istio.io/proxyCPU"], default["sidecar.istio.io/proxyMemory"]) == (
        "250m",
        "256Mi",
    )


def test_ambient_pods_carry_no_sidecar_annotations() -> None:
    template = _template(_model(), StackConfig.model_validate(AMBIENT_STACK))
    assert not [k for k in template["metadata"].get("annotations", {}) if k.startswith("sidecar.istio.io/")]


def _pool_stack(dataplane_stack: dict[str, Any]) -> StackConfig:
    pool = {
        "name": "cpu",
        "provisioner": "existing",
        "minNodes": 1,
        "maxNodes": 1,
        "cpuPerNode": 8,
        "memoryGibPerNode": 32,
    }
    return StackConfig.model_validate({**dataplane_stack, "nodePools": [pool]})


def _filling_model() -> ModelSpec:
    # Two replicas of 4 CPU fill one 8-CPU node exactly: the sidecar's 100m no longer fits.
    version = {
        "image": IMAGE,
        "weight": 100,
        "nodePool": "cpu",
        "replicas": 2,
        "resources": {"cpu": "4", "memory": "4Gi"},
    }
    return ModelSpec.model_validate({"server": "vllm", "versions": {"v1": version}})


def test_the_capacity_plan_counts_each_replicas_sidecar() -> None:
    stack = _pool_stack(SIDECAR_STACK)
    models = {"m": _filling_model()}
    placed = [("m", "v1", models["m"].versions["v1"])]
    plan = plan_capacity(stack, placed, PodOverhead.of(stack, models))
    cpu = next(d for d in plan.pools[0].dimensions if d.unit == "cpu")
    assert cpu.claims[0].per_replica == Fraction(41, 10)
    findings = list(capacity_findings(stack, placed, PodOverhead.of(stack, models)))
    assert findings and "minimum" in findings[0].message


def test_ambient_capacity_has_no_sidecar_overhead() -> None:
    stack = _pool_stack(AMBIENT_STACK)
    models = {"m": _filling_model()}
    placed = [("m", "v1", models["m"].versions["v1"])]
    assert list(capacity_findings(stack, placed, PodOverhead.of(stack, models))) == []
