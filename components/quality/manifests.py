"""The objects of one model's golden-set evaluator, as plain manifests (no Pulumi: rules size them too).

Like the smoke gate (components/traffic/smoke_gate.py): an immutable ConfigMap holds the stdlib-only
program (`components/quality/golden.py`, read from the installed package), the golden set and the
evaluator's spec; its name is a hash of all three, so a changed golden set is a new ConfigMap and the
Deployment's pod template (which names it) rolls. The pod runs in the stack's `smokeRunnerImage`.

Access under the mesh's STRICT mutual TLS:
- the evaluator calls each version's own Service as its own identity `<model>-golden-eval`, which the
  model's ALLOW policy names (components/traffic/access.py `caller_principals`);
- Prometheus scrapes the pod's metrics port (a PodMonitor, like the model's: no Service, nothing else
  calls the evaluator). Sidecars: a Prometheus outside the mesh has no certificate, so that one port is
  PERMISSIVE and an ALLOW policy lets only `GET /metrics` through it. Ambient: ztunnel admits
  Prometheus's identity on that port only (L4).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from components.catalog.model import ModelSpec
from components.catalog.stack_config import Dataplane, StackConfig
from components.gpu.scheduling import pod_scheduling
from components.naming import PART_OF, content_hash
from components.quality.placement import EVALUATOR_REPLICAS, EVALUATOR_RESOURCES, evaluator_pool
from components.traffic.mesh import sidecar_resource_annotations
from components.traffic.names import golden_evaluator_name, principal, version_endpoint
from components.workload.runner import runner_container_security_context, runner_pod_security_context

PROGRAM_FILE = "golden.py"
GOLDEN_FILE = "golden.json"
SPEC_FILE = "spec.json"
MOUNT = "/golden"
METRICS_PORT = 9464
METRICS_PORT_NAME = "metrics"
METRICS_PATH = "/metrics"
HEALTH_PATH = "/healthz"
SCRAPE_INTERVAL = "15s"
REQUEST_TIMEOUT_SECONDS = 10
# The API server refuses a ConfigMap whose keys and values together exceed 1 MiB
# (k8s.io/kubernetes pkg/apis/core/validation ValidateConfigMap: totalSize > MaxSecretSize, 1 << 20).
CONFIG_MAP_LIMIT_BYTES = 1 << 20


def program_source() -> str:
    """The evaluator program as shipped in the `components` package."""
    return resources.files("components.quality").joinpath(PROGRAM_FILE).read_text(encoding="utf-8")


def evaluator_labels(model: str) -> dict[str, str]:
    # Deliberately no `app`/`version`: the model's Services, subsets, PodMonitor and policies select on those.
    return {
        "app.kubernetes.io/name": model,
        "app.kubernetes.io/instance": golden_evaluator_name(model),
        "app.kubernetes.io/component": "golden-set-evaluator",
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def pod_selector(model: str) -> dict[str, str]:
    labels = evaluator_labels(model)
    return {k: labels[k] for k in ("app.kubernetes.io/instance", "app.kubernetes.io/component")}


def spec_document(model: str, spec: ModelSpec, namespace: str) -> dict[str, Any]:
    """What the program reads (`EvaluatorSpec.load`): every version's own Service, the route, the pace."""
    assert spec.analysis is not None and spec.analysis.golden_set is not None
    golden = spec.analysis.golden_set
    port = spec.server_preset.port
    return {
        "namespace": namespace,
        "model": model,
        "route": golden.route or model,
        "golden": GOLDEN_FILE,
        "intervalSeconds": golden.interval_seconds,
        "timeoutSeconds": REQUEST_TIMEOUT_SECONDS,
        "targets": {v: version_endpoint(model, v, namespace, port) for v in spec.versions},
    }


@dataclass(frozen=True)
class EvaluatorFiles:
    """The ConfigMap's files and the names derived from them."""

    model: str
    namespace: str
    program: str
    golden: str
    spec_json: str

    @property
    def data(self) -> dict[str, str]:
        return {PROGRAM_FILE: self.program, GOLDEN_FILE: self.golden, SPEC_FILE: self.spec_json}

    @property
    def size_bytes(self) -> int:
        """As the API server counts it: every key and value, in bytes."""
        return sum(len(k.encode()) + len(v.encode()) for k, v in self.data.items())

    @property
    def config_map_name(self) -> str:
        return f"{golden_evaluator_name(self.model)}-{content_hash(self.data)}"


def evaluator_files(model: str, spec: ModelSpec, namespace: str, golden_text: str) -> EvaluatorFiles:
    spec_json = json.dumps(spec_document(model, spec, namespace), sort_keys=True, indent=2)
    return EvaluatorFiles(model, namespace, program_source(), golden_text, spec_json)


def config_map_manifest(files: EvaluatorFiles) -> dict[str, Any]:
    return {
        "metadata": {
            "name": files.config_map_name,
            "namespace": files.namespace,
            "labels": evaluator_labels(files.model),
        },
        "immutable": True,
        "data": files.data,
    }


def service_account_manifest(model: str, namespace: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": golden_evaluator_name(model),
            "namespace": namespace,
            "labels": evaluator_labels(model),
        },
        # The sidecar gets its mesh identity from its own projected token; the evaluator needs none.
        "automountServiceAccountToken": False,
    }


def container_manifest(runner_image: str) -> dict[str, Any]:
    amounts = {"cpu": EVALUATOR_RESOURCES.cpu, "memory": EVALUATOR_RESOURCES.memory}
    probe = {"httpGet": {"path": HEALTH_PATH, "port": METRICS_PORT_NAME}, "periodSeconds": 10}
    return {
        "name": "evaluator",
        "image": runner_image,
        # -I: the standard library only, whatever the image's site-packages or the working directory hold.
        "command": ["python", "-I", f"{MOUNT}/{PROGRAM_FILE}"],
        "args": ["--spec", f"{MOUNT}/{SPEC_FILE}", "--listen", f"0.0.0.0:{METRICS_PORT}"],
        "env": [
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
            {"name": "PYTHONUNBUFFERED", "value": "1"},
        ],
        "ports": [{"name": METRICS_PORT_NAME, "containerPort": METRICS_PORT, "protocol": "TCP"}],
        "readinessProbe": probe,
        "livenessProbe": {**probe, "failureThreshold": 3},
        "volumeMounts": [{"name": "golden", "mountPath": MOUNT, "readOnly": True}],
        "resources": {"requests": dict(amounts), "limits": dict(amounts)},
        "securityContext": runner_container_security_context(),
    }


def deployment_manifest(
    files: EvaluatorFiles, spec: ModelSpec, stack: StackConfig, runner_image: str
) -> dict[str, Any]:
    model, namespace = files.model, files.namespace
    labels = evaluator_labels(model)
    pool = evaluator_pool(spec, stack)
    scheduling = pod_scheduling(pool, EVALUATOR_RESOURCES).pod_spec_fields()
    template_metadata: dict[str, Any] = {"labels": labels}
    if annotations := sidecar_resource_annotations(stack.istio, spec.sidecar_resources):
        template_metadata["annotations"] = annotations
    pull_secrets = [{"name": name} for name in stack.image_pull_secrets]
    return {
        "metadata": {"name": golden_evaluator_name(model), "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": EVALUATOR_REPLICAS,
            "selector": {"matchLabels": pod_selector(model)},
            # The new evaluator scores before the old one stops, so a changed golden set leaves no window
            # without data; for that moment both export, and the gate's max() reads either.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": template_metadata,
                "spec": {
                    "serviceAccountName": golden_evaluator_name(model),
                    "automountServiceAccountToken": False,
                    **({"imagePullSecrets": pull_secrets} if pull_secrets else {}),
                    **scheduling,
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": pod_selector(model)},
                        }
                    ],
                    "securityContext": runner_pod_security_context(),
                    "containers": [container_manifest(runner_image)],
                    "volumes": [{"name": "golden", "configMap": {"name": files.config_map_name}}],
                },
            },
        },
    }


def pdb_manifest(model: str, namespace: str) -> dict[str, Any]:
    """Drains may evict the evaluator (a missed round or two inside the window costs no data), one pod at
    a time, and always one that never became ready — as the versions' budgets (components/workload)."""
    return {
        "metadata": {
            "name": golden_evaluator_name(model),
            "namespace": namespace,
            "labels": evaluator_labels(model),
        },
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": pod_selector(model)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def pod_monitor_manifest(model: str, stack: StackConfig) -> dict[str, Any]:
    """honorLabels: the series carry their own `namespace`, `model` and `version` (the versions scored),
    which the gate selects on; Prometheus's target labels must not rename them to `exported_*`."""
    return {
        "metadata": {
            "name": golden_evaluator_name(model),
            "namespace": stack.namespace,
            "labels": {**stack.monitoring.service_monitor_labels, **evaluator_labels(model)},
        },
        "spec": {
            "selector": {"matchLabels": pod_selector(model)},
            "namespaceSelector": {"matchNames": [stack.namespace]},
            "podMetricsEndpoints": [
                {
                    "port": METRICS_PORT_NAME,
                    "path": METRICS_PATH,
                    "interval": SCRAPE_INTERVAL,
                    "honorLabels": True,
                }
            ],
        },
    }


def peer_authentication_manifest(model: str, stack: StackConfig) -> dict[str, Any] | None:
    """Sidecars only: plain-text scrapes of the metrics port by a Prometheus outside the mesh."""
    if stack.istio.dataplane is not Dataplane.SIDECAR_CNI:
        return None
    return {
        "metadata": _policy_metadata(model, stack),
        "spec": {
            "selector": {"matchLabels": pod_selector(model)},
            "mtls": {"mode": "STRICT"},
            "portLevelMtls": {str(METRICS_PORT): {"mode": "PERMISSIVE"}},
        },
    }


def authorization_policy_manifest(model: str, stack: StackConfig) -> dict[str, Any]:
    """Only the scrape reaches the evaluator: `GET /metrics` on its port (sidecars), or Prometheus's
    identity on its port (ambient, L4: ztunnel sees no paths)."""
    to_port: dict[str, Any] = {"ports": [str(METRICS_PORT)]}
    if stack.istio.dataplane is Dataplane.AMBIENT:
        prometheus = stack.monitoring.prometheus_service_account
        assert prometheus is not None  # the stack schema requires it under ambient
        rule = {
            "from": [{"source": {"principals": [principal(*prometheus.split("/", 1))]}}],
            "to": [{"operation": to_port}],
        }
    else:
        rule = {"to": [{"operation": {**to_port, "methods": ["GET"], "paths": [METRICS_PATH]}}]}
    return {
        "metadata": _policy_metadata(model, stack),
        "spec": {"selector": {"matchLabels": pod_selector(model)}, "action": "ALLOW", "rules": [rule]},
    }


def _policy_metadata(model: str, stack: StackConfig) -> dict[str, Any]:
    return {
        "name": golden_evaluator_name(model),
        "namespace": stack.namespace,
        "labels": evaluator_labels(model),
    }
