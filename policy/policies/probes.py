"""Probes on exposed ports: long-running containers have liveness and readiness probes, aimed at ports they expose."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationPolicy,
)

from .props import (
    LONG_RUNNING,
    containers,
    dig,
    items,
    pod_policy,
)

PROBES = ("startupProbe", "livenessProbe", "readinessProbe")
REQUIRED_PROBES = ("livenessProbe", "readinessProbe")


def probe_port(probe: Mapping[str, Any]) -> Any:
    for handler in ("httpGet", "tcpSocket", "grpc"):
        port = dig(probe, handler, "port")
        if port is not None:
            return port
    return None


def exposed_ports(container: Mapping[str, Any]) -> tuple[set[int], set[str]]:
    numbers: set[int] = set()
    names: set[str] = set()
    for port in items(container.get("ports")):
        if isinstance(port.get("containerPort"), int | float):
            numbers.add(int(port["containerPort"]))
        if port.get("name"):
            names.add(str(port["name"]))
    return numbers, names


def probe_problems(
    _type: str, props: Mapping[str, Any], spec: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterator[str]:
    for _, container in containers(spec, init=False):
        label = f"container {container.get('name')!r}"
        missing = [p for p in REQUIRED_PROBES if not isinstance(container.get(p), Mapping)]
        if missing:
            yield f"The {label} has no {' and no '.join(missing)}. A model server needs both, or traffic reaches pods that cannot serve."
        numbers, names = exposed_ports(container)
        for probe_name in PROBES:
            probe = container.get(probe_name)
            if not isinstance(probe, Mapping):
                continue
            port = probe_port(probe)
            if port is None:
                continue
            exposed = (int(port) in numbers) if isinstance(port, int | float) else (str(port) in names)
            if not exposed:
                yield f"The {label}'s {probe_name} targets port {port!r}, which the container does not expose. Aim it at a declared containerPort."


probes_on_exposed_ports = ResourceValidationPolicy(
    name="probes-on-exposed-ports",
    description="Every container of a long-running workload has liveness and readiness probes, and every probe targets a port the container exposes.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=pod_policy(probe_problems, LONG_RUNNING),
)
