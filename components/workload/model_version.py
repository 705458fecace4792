"""`ModelVersion`: the Kubernetes objects of one immutable model version, side by side with the others."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.catalog.model import ModelSpec
from components.catalog.stack_config import StackConfig
from components.catalog.version import VersionSpec
from components.naming import version_labels, version_object_name, version_selector


@dataclass(frozen=True)
class ModelVersionArgs:
    model_name: str
    version_name: str
    model: ModelSpec
    version: VersionSpec
    stack: StackConfig
    namespace: str
    image: pulumi.Input[str]
    """`repo@sha256:...`: the catalog's image, or the digest a ModelImage pushed."""


def container_spec(args: ModelVersionArgs, image: Any) -> dict[str, Any]:
    server = args.model.server_preset
    res = args.version.resources
    amounts: dict[str, str] = {"cpu": res.cpu, "memory": res.memory}
    return {
        "name": "server",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": server.port, "protocol": "TCP"}],
        "resources": {"requests": dict(amounts), "limits": dict(amounts)},
    }


def deployment_manifest(args: ModelVersionArgs, image: Any) -> dict[str, Any]:
    labels = version_labels(args.model_name, args.version_name)
    return {
        "metadata": {
            "name": version_object_name(args.model_name, args.version_name),
            "namespace": args.namespace,
            "labels": labels,
        },
        "spec": {
            "replicas": args.version.replicas.min,
            "selector": {"matchLabels": version_selector(args.model_name, args.version_name)},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container_spec(args, image)]},
            },
        },
    }


def service_manifest(args: ModelVersionArgs) -> dict[str, Any]:
    port = args.model.server_preset.port
    return {
        "metadata": {
            "name": version_object_name(args.model_name, args.version_name),
            "namespace": args.namespace,
            "labels": version_labels(args.model_name, args.version_name),
        },
        "spec": {
            "selector": version_selector(args.model_name, args.version_name),
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


class ModelVersion(pulumi.ComponentResource):
    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service
    image: pulumi.Output[str]

    def __init__(self, name: str, args: ModelVersionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelstack:workload:ModelVersion", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.image = pulumi.Output.from_input(args.image)
        object_name = version_object_name(args.model_name, args.version_name)
        self.deployment = k8s.apps.v1.Deployment(
            object_name, **deployment_manifest(args, args.image), opts=child
        )
        self.service = k8s.core.v1.Service(object_name, **service_manifest(args), opts=child)
        self.register_outputs({"deployment": self.deployment.metadata["name"]})
