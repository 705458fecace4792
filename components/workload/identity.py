"""The dedicated identity of a model: one ServiceAccount shared by all of its versions."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

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


def model_service_account(
    model: str, namespace: str, opts: pulumi.ResourceOptions
) -> k8s.core.v1.ServiceAccount:
    manifest = service_account_manifest(model, namespace)
    return k8s.core.v1.ServiceAccount(
        service_account_name(model),
        metadata=manifest["metadata"],
        automount_service_account_token=manifest["automountServiceAccountToken"],
        opts=opts,
    )
