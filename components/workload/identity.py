"""The dedicated identity of a model: one ServiceAccount shared by all of its versions."""

from __future__ import annotations

from typing import Any

import pulumi

from components.kubernetes_object import KubernetesObject
from components.naming import model_labels


def service_account_name(model: str) -> str:
    """`<model>`: the mesh identity `spiffe://cluster.local/ns/<ns>/sa/<model>` callers see."""
    return model


def service_account_manifest(model: str, namespace: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": service_account_name(model),
            "namespace": namespace,
            "labels": model_labels(model),
        },
        # Model servers never call the Kubernetes API: no token is mounted unless a pod asks explicitly.
        "automountServiceAccountToken": False,
    }


def model_service_account(model: str, namespace: str, opts: pulumi.ResourceOptions) -> KubernetesObject:
    manifest = service_account_manifest(model, namespace)
    return KubernetesObject(service_account_name(model), "v1", "ServiceAccount", manifest, opts)
