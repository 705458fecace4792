"""`ModelVersion`: the Kubernetes objects of one immutable model version, side by side with the others.

Deployment, per-version Service, hashed immutable ConfigMap, PodDisruptionBudget, the weights'
PersistentVolume and claim when its weights are on a volume and, when the version is autoscaled, its
queue autoscaler (a KEDA ScaledObject, or an HPA on the prometheus-adapter engine), all named
`<model>-<version>[-<hash>]`. Nothing here depends on the version's
traffic weight except the HPA's floor at weight 0, so moving traffic never touches a workload object.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.autoscaling.hpa import hpa_manifest
from components.autoscaling.keda import KEDA_API, scaled_object_manifest
from components.catalog.model import is_autoscaled
from components.catalog.stack_config import AutoscalingEngine
from components.kubernetes_object import KubernetesObject
from components.naming import version_labels, version_object_name, version_selector
from components.workload.args import ModelVersionArgs
from components.workload.availability import (
    REVISION_HISTORY_LIMIT,
    pdb_manifest,
    progress_deadline_seconds,
    replica_fields,
    rollout_strategy,
)
from components.workload.config import config_map_manifest, config_map_name, has_config
from components.workload.pod import HTTP_PORT, METRICS_PORT, container_ports, pod_metadata, pod_spec
from components.workload.weights import persistent_volume_claim_manifest, persistent_volume_manifest


def deployment_manifest(args: ModelVersionArgs, image: Any) -> dict[str, Any]:
    labels = version_labels(args.model_name, args.version_name)
    return {
        "metadata": {
            "name": version_object_name(args.model_name, args.version_name),
            "namespace": args.namespace,
            "labels": labels,
        },
        "spec": {
            **replica_fields(args),
            # Immutable in Kubernetes: the selector is the version's identity and never changes.
            "selector": {"matchLabels": version_selector(args.model_name, args.version_name)},
            "strategy": rollout_strategy(),
            "progressDeadlineSeconds": progress_deadline_seconds(args),
            "revisionHistoryLimit": REVISION_HISTORY_LIMIT,
            "template": {"metadata": pod_metadata(args, labels), "spec": pod_spec(args, image)},
        },
    }


def service_manifest(args: ModelVersionArgs) -> dict[str, Any]:
    """The version alone, by name: for smoke tests, debugging and scraping one version's pods."""
    named = {p["name"]: p["containerPort"] for p in container_ports(args.model.server_preset)}
    ports = [
        {"name": name, "port": named[name], "targetPort": name, "protocol": "TCP", "appProtocol": "http"}
        for name in (HTTP_PORT, METRICS_PORT)
        if name in named
    ]
    return {
        "metadata": {
            "name": version_object_name(args.model_name, args.version_name),
            "namespace": args.namespace,
            "labels": version_labels(args.model_name, args.version_name),
        },
        "spec": {"selector": version_selector(args.model_name, args.version_name), "ports": ports},
    }


class ModelVersion(pulumi.ComponentResource):
    spec: ModelVersionArgs
    deployment: KubernetesObject
    service: KubernetesObject
    config_map: KubernetesObject | None
    disruption_budget: KubernetesObject
    hpa: KubernetesObject | None
    """The HPA we declare (engine prometheus-adapter); under KEDA, KEDA creates it from `scaled_object`."""
    scaled_object: KubernetesObject | None
    weights_claim: KubernetesObject | None
    image: pulumi.Input[str]
    """`repo@sha256:...`: a plain string for a catalog image, an Output for a built one."""

    def __init__(self, name: str, args: ModelVersionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelstack:workload:ModelVersion", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.spec = args
        self.image = args.image
        object_name = version_object_name(args.model_name, args.version_name)
        self.config_map = None
        config_name = None
        needed: list[pulumi.Resource] = []
        self.weights_claim = self._weights_claim(args)
        if self.weights_claim is not None:
            # A pod whose claim does not exist is not schedulable.
            needed.append(self.weights_claim)
        if has_config(args.version):
            config_name = config_map_name(args.model_name, args.version_name, args.version)
            self.config_map = KubernetesObject(
                config_name,
                "v1",
                "ConfigMap",
                config_map_manifest(args.model_name, args.version_name, args.version, args.namespace),
                child,
            )
            # Pods referencing a ConfigMap key that does not exist yet would not start.
            needed.append(self.config_map)
        deployment_opts = pulumi.ResourceOptions(parent=self, depends_on=needed) if needed else child
        self.deployment = KubernetesObject(
            object_name, "apps/v1", "Deployment", deployment_manifest(args, args.image), deployment_opts
        )
        self.service = KubernetesObject(object_name, "v1", "Service", service_manifest(args), child)
        self.disruption_budget = KubernetesObject(
            object_name, "policy/v1", "PodDisruptionBudget", pdb_manifest(args), child
        )
        self.hpa, self.scaled_object = None, None
        if is_autoscaled(args.model, args.version):
            # Exactly one of the two: KEDA creates its own HPA, and two would fight over the scale.
            if args.stack.autoscaling.engine is AutoscalingEngine.KEDA:
                self.scaled_object = self._scaled_object(args)
            else:
                self.hpa = self._autoscaler(args)
        autoscaled = self.hpa is not None or self.scaled_object is not None
        # Plain names, not `metadata["name"]` Outputs: the SDK would lift and await each of them.
        self.register_outputs(
            {
                "deployment": object_name,
                "service": object_name,
                "configMap": config_name,
                # KEDA names the HPA it creates after the version too (keda.scaled_object_manifest).
                "hpa": object_name if autoscaled else None,
                "scaledObject": object_name if self.scaled_object else None,
            }
        )

    def _weights_claim(self, args: ModelVersionArgs) -> KubernetesObject | None:
        weights = args.version.model_weights
        if weights is None or weights.volume is None:
            return None
        model, version = args.model_name, args.version_name
        volume_manifest = persistent_volume_manifest(model, version, args.namespace, weights.volume)
        volume = KubernetesObject(
            volume_manifest["metadata"]["name"],
            "v1",
            "PersistentVolume",
            volume_manifest,
            pulumi.ResourceOptions(parent=self),
        )
        claim_manifest = persistent_volume_claim_manifest(model, version, args.namespace, weights.volume)
        return KubernetesObject(
            claim_manifest["metadata"]["name"],
            "v1",
            "PersistentVolumeClaim",
            claim_manifest,
            pulumi.ResourceOptions(parent=self, depends_on=[volume]),
        )

    def _autoscaler(self, args: ModelVersionArgs) -> KubernetesObject:
        """The version scales on its own queue, a canary included (docs/autoscaling.md)."""
        manifest = hpa_manifest(args.model_name, args.version_name, args.model, args.namespace)
        return KubernetesObject(
            manifest["metadata"]["name"],
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            manifest,
            pulumi.ResourceOptions(parent=self, depends_on=[self.deployment]),
        )

    def _scaled_object(self, args: ModelVersionArgs) -> KubernetesObject:
        manifest = scaled_object_manifest(
            args.model_name, args.version_name, args.model, args.stack.autoscaling, args.namespace
        )
        return KubernetesObject(
            manifest["metadata"]["name"],
            KEDA_API,
            "ScaledObject",
            manifest,
            pulumi.ResourceOptions(parent=self, depends_on=[self.deployment]),
        )


__all__ = ["ModelVersion", "ModelVersionArgs", "deployment_manifest", "service_manifest"]
