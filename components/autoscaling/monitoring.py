"""`ModelObservability`: the scrape config and the alerting rules of one model (prometheus-operator CRs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.autoscaling.alerts import model_alerts
from components.catalog.model import ModelSpec
from components.catalog.server import ServerPreset
from components.catalog.stack_config import StackConfig
from components.kubernetes_object import KubernetesObject
from components.naming import PART_OF, model_labels
from components.traffic.mesh import MERGED_METRICS_PATH, MERGED_METRICS_PORT, merges_metrics

MONITORING_API = "monitoring.coreos.com/v1"
SCRAPE_INTERVAL = "15s"
# Copied from the pod onto every scraped series: the adapter's External selector, the queue alert and the
# gate select a version by them. They win over a server's own labels of the same name (Triton's `version`
# becomes `exported_version`).
POD_TARGET_LABELS = ("app", "version")


def metrics_port_name(server: ServerPreset) -> str:
    """Container port name of the server's metrics: `http` when served on the API port, else `metrics`."""
    return "http" if server.metrics_port == server.port else "metrics"


def scrape_endpoint(server: ServerPreset, stack: StackConfig) -> dict[str, Any]:
    """Where Prometheus reads the server's metrics under the stack's data plane (components/traffic/mesh)."""
    if merges_metrics(server, stack.istio):
        return {"portNumber": MERGED_METRICS_PORT, "path": MERGED_METRICS_PATH}
    return {"port": metrics_port_name(server), "path": server.metrics_path}


def _metadata(model_name: str, stack: StackConfig) -> dict[str, Any]:
    # The operator selects monitors and rules by the stack's labels; ours come last so they cannot be overridden.
    labels = {**stack.monitoring.service_monitor_labels, **model_labels(model_name)}
    return {"name": model_name, "namespace": stack.namespace, "labels": labels}


def pod_monitor_manifest(model_name: str, model: ModelSpec, stack: StackConfig) -> dict[str, Any]:
    """A PodMonitor (not a ServiceMonitor): each pod is scraped once however many Services select it, and
    a metrics port the Services do not expose (Triton's 8002) is still reached."""
    server = model.server_preset
    return {
        "metadata": _metadata(model_name, stack),
        "spec": {
            "selector": {"matchLabels": {"app": model_name, "app.kubernetes.io/part-of": PART_OF}},
            "namespaceSelector": {"matchNames": [stack.namespace]},
            "podTargetLabels": list(POD_TARGET_LABELS),
            "podMetricsEndpoints": [{**scrape_endpoint(server, stack), "interval": SCRAPE_INTERVAL}],
        },
    }


def prometheus_rule_manifest(model_name: str, model: ModelSpec, stack: StackConfig) -> dict[str, Any]:
    return {
        "metadata": _metadata(model_name, stack),
        "spec": {
            "groups": [
                {
                    "name": f"modelstack.{model_name}",
                    "rules": model_alerts(model_name, model, stack.namespace),
                }
            ]
        },
    }


@dataclass(frozen=True)
class ModelObservabilityArgs:
    model_name: str
    model: ModelSpec
    stack: StackConfig


class ModelObservability(pulumi.ComponentResource):
    pod_monitor: KubernetesObject
    prometheus_rule: KubernetesObject

    def __init__(
        self, name: str, args: ModelObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("modelstack:autoscaling:ModelObservability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.pod_monitor = KubernetesObject(
            args.model_name,
            MONITORING_API,
            "PodMonitor",
            pod_monitor_manifest(args.model_name, args.model, args.stack),
            child,
        )
        self.prometheus_rule = KubernetesObject(
            args.model_name,
            MONITORING_API,
            "PrometheusRule",
            prometheus_rule_manifest(args.model_name, args.model, args.stack),
            child,
        )
        self.register_outputs({"podMonitor": args.model_name, "prometheusRule": args.model_name})
