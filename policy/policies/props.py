"""Reading the camelCase props of Kubernetes resources as Pulumi passes them, and the facts the policy families share.

Props may be pulumi-policy's read-only proxies: only `Mapping`/`Sequence` are assumed, never dict/list."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs

# fullmatch: `$` would also match before a final newline.
DIGEST_REF = re.compile(r"[^@\s]+@sha256:[0-9a-f]{64}", re.ASCII)
GPU_RESOURCE_PREFIX = "nvidia.com/"
DEFAULT_GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
DEFAULT_GATEWAY_NAMESPACES = ("istio-ingress",)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
VIRTUAL_SERVICE_KIND = "VirtualService"
DESTINATION_RULE_KIND = "DestinationRule"
ISTIO_NETWORKING = "networking.istio.io"

# Where the pod template sits in each workload kind (pulumi-kubernetes type token → path to PodSpec).
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
LONG_RUNNING = {
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
}
# Pod Security Standard "restricted": the only volume types allowed (image volumes since Kubernetes 1.33).
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
ALLOWED_ADDED_CAPABILITIES = {"NET_BIND_SERVICE"}


# --- reading props --------------------------------------------------------------------------------------


def dig(value: Any, *path: str) -> Any:
    """`value[path[0]][path[1]]…`, or None where a step is missing or not an object."""
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def items(value: Any) -> list[Any]:
    """A list field as a list ([] when absent); strings are not lists."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return []


def object_name(props: Mapping[str, Any]) -> str:
    meta = dig(props, "metadata") or {}
    namespace = meta.get("namespace")
    return f"{namespace}/{meta.get('name')}" if namespace else str(meta.get("name"))


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    path = POD_SPEC_PATHS.get(resource_type)
    spec = dig(props, *path) if path else None
    return spec if isinstance(spec, Mapping) else None


def containers(spec: Mapping[str, Any], *, init: bool = True) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(kind, container) for containers, and init/ephemeral containers when `init`."""
    fields = ("containers", "initContainers", "ephemeralContainers") if init else ("containers",)
    for field in fields:
        for container in items(spec.get(field)):
            if isinstance(container, Mapping):
                yield field[:-1], container


def is_istio(props: Mapping[str, Any], kind: str) -> bool:
    return str(props.get("apiVersion", "")).startswith(f"{ISTIO_NETWORKING}/") and props.get("kind") == kind


PodCheck = Callable[[str, Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], Iterable[str]]
"""(resource type, props, pod spec, policy config) → violation messages."""


def pod_policy(
    check: PodCheck, types: Iterable[str] = POD_SPEC_PATHS
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    wanted = set(types)

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in wanted:
            return
        spec = pod_spec(args.resource_type, args.props)
        if spec is None:
            return
        for message in check(args.resource_type, args.props, spec, args.get_config()):
            report(message, None)

    return validate


def resource_namespace(resource: PolicyResource) -> str | None:
    return dig(resource.props, "metadata", "namespace")


def resource_name(resource: PolicyResource) -> str | None:
    return dig(resource.props, "metadata", "name")
