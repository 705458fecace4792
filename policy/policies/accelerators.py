"""Accelerators requested whole: GPU resources are requested as whole units with limits, and GPU pods tolerate the GPU taint."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationPolicy,
)

from .props import (
    DEFAULT_GPU_TAINT,
    GPU_RESOURCE_PREFIX,
    containers,
    dig,
    items,
    pod_policy,
)


def quantity(value: Any) -> str | None:
    """A resource quantity as text; numbers come through the Pulumi engine as floats (1.0 is "1")."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Kubernetes' matching rule for one toleration against one taint."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    operator = toleration.get("operator") or "Equal"
    key = toleration.get("key") or ""
    if operator == "Exists":
        return key in ("", taint.get("key"))
    return key == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def accelerator_problems(
    _type: str, props: Mapping[str, Any], spec: Mapping[str, Any], config: Mapping[str, Any]
) -> Iterator[str]:
    taint = {**DEFAULT_GPU_TAINT, **dict(config.get("gpuTaint") or {})}
    requests_gpu = False
    for kind, container in containers(spec):
        requests = dig(container, "resources", "requests") or {}
        limits = dig(container, "resources", "limits") or {}
        for resource in sorted({*requests, *limits}):
            if not str(resource).startswith(GPU_RESOURCE_PREFIX):
                continue
            requests_gpu = True
            if quantity(requests.get(resource)) != quantity(limits.get(resource)):
                yield (
                    f"The {kind} {container.get('name')!r} requests {requests.get(resource)!r} but limits "
                    f"{limits.get(resource)!r} of {resource}. Accelerators cannot be overcommitted: set requests equal to limits."
                )
    if requests_gpu and not any(
        tolerates(t, taint) for t in items(spec.get("tolerations")) if isinstance(t, Mapping)
    ):
        shown = f"{taint['key']}={taint.get('value', '')}:{taint['effect']}"
        yield f"It requests GPUs but does not tolerate the GPU taint {shown}, so it can never schedule on a GPU node."


accelerators_requested_whole = ResourceValidationPolicy(
    name="accelerators-requests-equal-limits",
    description="Pods requesting nvidia.com/* resources set requests equal to limits and tolerate the GPU node taint.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=pod_policy(accelerator_problems),
    config_schema=PolicyConfigSchema(
        properties={
            "gpuTaint": {
                "type": "object",
                "properties": {
                    "key": {"type": "string"},
                    "value": {"type": "string"},
                    "effect": {"type": "string"},
                },
            }
        }
    ),
)
