"""The queue HPA of a model version: `autoscaling/v2`, on that version's own inference queue (declared by
`ModelVersion`).

One HPA per version (not per model) so a canary scales on its own queue: its replicas follow the traffic
share it really gets, and the stable version is not pushed to max by load the canary is queueing.
"""

from __future__ import annotations

from typing import Any

from components.autoscaling.metrics import scaling_metric, served_metric_name
from components.catalog.autoscaling import AutoscalingSpec, MetricType, ScalingBehavior
from components.catalog.model import ModelSpec
from components.catalog.version import VersionSpec
from components.naming import version_labels, version_object_name, version_selector

MILLI = 1000


def quantity(value: float) -> str:
    """A Kubernetes quantity for a positive target: `4.0` -> `"4"`, `0.5` -> `"500m"`."""
    if float(value).is_integer():
        return str(int(value))
    milli = round(value * MILLI)
    if milli < 1:
        raise ValueError(f"{value} is below 0.001, the smallest target a Kubernetes quantity can express")
    return f"{milli}m"


def hpa_min_replicas(version: VersionSpec) -> int:
    """Replicas the HPA never goes below.

    A version at weight 0 gets no traffic, so its queue is empty and the HPA would sit at minReplicas
    anyway: it keeps `replicas.idle` warm (for a fast rollback) or else one replica — GPUs for `min`
    replicas sized for real traffic would idle. The HPA cannot go to zero (minReplicas >= 1).
    """
    if version.weight == 0:
        return version.replicas.idle or 1
    return version.replicas.min


def behavior_manifest(behavior: ScalingBehavior) -> dict[str, Any]:
    """Fast scale-up, slow scale-down: every policy explicit, so nothing depends on controller flags."""
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": behavior.scale_up_stabilization_seconds,
            "selectPolicy": "Max",
            "policies": [
                {
                    "type": "Pods",
                    "value": behavior.scale_up_pods,
                    "periodSeconds": behavior.scale_up_period_seconds,
                }
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": behavior.scale_down_stabilization_seconds,
            "selectPolicy": "Max",
            "policies": [
                {
                    "type": "Pods",
                    "value": behavior.scale_down_pods,
                    "periodSeconds": behavior.scale_down_period_seconds,
                }
            ],
        },
    }


def metric_manifest(
    autoscaling: AutoscalingSpec, raw_metric: str, model_name: str, version_name: str
) -> dict[str, Any]:
    """The HPA's metric: the queue per replica, as a Pods metric or an External one on the version's labels."""
    target = {"type": "AverageValue", "averageValue": quantity(autoscaling.target)}
    metric: dict[str, Any] = {"name": served_metric_name(raw_metric)}
    if autoscaling.type is MetricType.PODS:
        return {"type": "Pods", "pods": {"metric": metric, "target": target}}
    # External metrics are not tied to the target's pods: select this version's series by pod labels
    # (copied onto every series by the PodMonitor), or the canary would scale on the stable's queue.
    metric["selector"] = {"matchLabels": version_selector(model_name, version_name)}
    return {"type": "External", "external": {"metric": metric, "target": target}}


def hpa_manifest(model_name: str, version_name: str, model: ModelSpec, namespace: str) -> dict[str, Any]:
    autoscaling, raw_metric = model.autoscaling, scaling_metric(model)
    if autoscaling is None or raw_metric is None:
        raise ValueError(f"model {model_name} has no autoscaling block")
    version = model.versions[version_name]
    name = version_object_name(model_name, version_name)
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": version_labels(model_name, version_name),
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": hpa_min_replicas(version),
            "maxReplicas": version.replicas.max,
            "metrics": [metric_manifest(autoscaling, raw_metric, model_name, version_name)],
            "behavior": behavior_manifest(autoscaling.behavior),
        },
    }
