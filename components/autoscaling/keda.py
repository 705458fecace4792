"""The KEDA `ScaledObject` of a model version (`autoscaling.engine: keda`, declared by `ModelVersion`).

KEDA (checked against v2.20: the CRD in ../shared/schemas/keda.sh_scaledobjects.yaml, and the
Prometheus scaler and ScaledObject reference at keda.sh/docs/2.20) creates and owns an HPA for the
Deployment and serves it the trigger's value through its own external metrics server; no
prometheus-adapter configuration is involved. So a version gets a ScaledObject *instead of* an HPA
(rendering both would make two controllers fight over the Deployment's scale), and the Deployment still
leaves `.spec.replicas` out.
"""

from __future__ import annotations

from typing import Any

from components.autoscaling import queries
from components.autoscaling.hpa import behavior_manifest, hpa_min_replicas
from components.autoscaling.metrics import scaling_metric
from components.catalog.model import ModelSpec
from components.catalog.stack_config import AutoscalingConfig
from components.naming import version_labels, version_object_name

KEDA_API = "keda.sh/v1alpha1"
TRANSFER_HPA_OWNERSHIP = "scaledobject.keda.sh/transfer-hpa-ownership"
"""KEDA's webhook refuses a ScaledObject whose Deployment an HPA it does not own already scales, unless
this annotation is "true" and `horizontalPodAutoscalerConfig.name` names that HPA: then KEDA adopts it
(`apis/keda/v1alpha1/scaledobject_webhook.go`, `verifyHpas`). A stack switching from prometheus-adapter
has exactly such an HPA, of the same name, until `pulumi up` deletes it."""


def threshold(value: float) -> str:
    """KEDA reads `threshold` as a string holding a float (`4`, `2.5`); no quantity suffixes."""
    return f"{value:g}" if float(value).is_integer() else repr(float(value))


def prometheus_trigger(
    model_name: str, version_name: str, model: ModelSpec, autoscaling: AutoscalingConfig, namespace: str
) -> dict[str, Any]:
    """The version's queue as KEDA's `prometheus` trigger: total queue of the version over `target` per pod."""
    metric, spec = scaling_metric(model), model.autoscaling
    if spec is None or metric is None:
        raise ValueError(f"model {model_name} has no autoscaling block")
    return {
        "type": "prometheus",
        # AverageValue: the HPA divides the query's value by the replica count, so `threshold` is the
        # queue per replica the catalog's `target` means (the default for this scaler, written out).
        "metricType": "AverageValue",
        "metadata": {
            "serverAddress": autoscaling.prometheus_address,
            "query": queries.version_queue(metric, namespace, model_name, version_name),
            "threshold": threshold(spec.target),
            # Activation decides only between 0 and 1 replica; minReplicaCount is at least 1 here, so
            # the version is always active and 0 keeps KEDA's default.
            "activationThreshold": "0",
            # KEDA's default (true) reads an empty result as 0 and scales to the minimum when Prometheus
            # loses the targets (kedacore/keda #3065); false makes it an error, and the HPA then keeps its
            # size, as it does with prometheus-adapter.
            "ignoreNullValues": "false",
        },
    }


def scaled_object_manifest(
    model_name: str, version_name: str, model: ModelSpec, autoscaling: AutoscalingConfig, namespace: str
) -> dict[str, Any]:
    if model.autoscaling is None:
        raise ValueError(f"model {model_name} has no autoscaling block")
    version = model.versions[version_name]
    name = version_object_name(model_name, version_name)
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": version_labels(model_name, version_name),
            "annotations": {TRANSFER_HPA_OWNERSHIP: "true"},
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicaCount": hpa_min_replicas(version),
            "maxReplicaCount": version.replicas.max,
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    # Named like the HPA of the adapter path (not KEDA's `keda-hpa-<name>`), so the
                    # at-max alert and `kubectl get hpa <model>-<version>` read the same under both engines.
                    "name": name,
                    "behavior": behavior_manifest(model.autoscaling.behavior),
                },
            },
            "triggers": [prometheus_trigger(model_name, version_name, model, autoscaling, namespace)],
        },
    }
