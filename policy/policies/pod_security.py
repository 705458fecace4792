"""Restricted pod security: workloads meet the Pod Security Standard "restricted" (pod- and container-level settings, volume types)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationPolicy,
)

from .props import (
    ALLOWED_ADDED_CAPABILITIES,
    RESTRICTED_VOLUME_TYPES,
    containers,
    dig,
    items,
    pod_policy,
)


def _context_value(spec: Mapping[str, Any], container: Mapping[str, Any], *path: str) -> Any:
    """A container's securityContext setting, falling back to the pod's (as the kubelet does)."""
    own = dig(container, "securityContext", *path)
    return own if own is not None else dig(spec, "securityContext", *path)


def _pod_level_problems(spec: Mapping[str, Any]) -> Iterator[str]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            yield f"sets {field}: true"
    for volume in items(spec.get("volumes")):
        kinds = [k for k in volume if k != "name"]
        for kind in kinds:
            if kind not in RESTRICTED_VOLUME_TYPES:
                yield f"mounts a {kind} volume {volume.get('name')!r} (restricted allows {', '.join(sorted(RESTRICTED_VOLUME_TYPES))})"


def _container_problems(spec: Mapping[str, Any], container: Mapping[str, Any]) -> Iterator[str]:
    context = dig(container, "securityContext") or {}
    if context.get("privileged"):
        yield "is privileged"
    if context.get("allowPrivilegeEscalation") is not False:
        yield "does not set allowPrivilegeEscalation: false"
    if _context_value(spec, container, "runAsNonRoot") is not True:
        yield "does not set runAsNonRoot: true (on the pod or the container)"
    if _context_value(spec, container, "runAsUser") == 0:
        yield "runs as user 0"
    if _context_value(spec, container, "seccompProfile", "type") not in ("RuntimeDefault", "Localhost"):
        yield "has no seccompProfile of type RuntimeDefault or Localhost"
    capabilities = dig(context, "capabilities") or {}
    if "ALL" not in [str(c) for c in items(capabilities.get("drop"))]:
        yield "does not drop ALL capabilities"
    added = {str(c) for c in items(capabilities.get("add"))} - ALLOWED_ADDED_CAPABILITIES
    if added:
        yield f"adds capabilities {', '.join(sorted(added))} (only NET_BIND_SERVICE is allowed)"
    if any(p.get("hostPort") for p in items(container.get("ports"))):
        yield "uses a hostPort"


def pod_security_problems(
    _type: str, props: Mapping[str, Any], spec: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterator[str]:
    suffix = "The namespace enforces the restricted Pod Security Standard, so the API server would refuse its pods."
    for problem in _pod_level_problems(spec):
        yield f"The pod {problem}. {suffix}"
    for kind, container in containers(spec):
        for problem in _container_problems(spec, container):
            yield f"The {kind} {container.get('name')!r} {problem}. {suffix}"


restricted_pod_security = ResourceValidationPolicy(
    name="restricted-pod-security",
    description="Pods meet the restricted Pod Security Standard: non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, no host namespaces, ports or paths.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=pod_policy(pod_security_problems),
)
