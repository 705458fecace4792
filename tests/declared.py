"""What the program declares, as it declares it: each Kubernetes object's kind, parent and dependencies.

Tests of declaration order record the `KubernetesObject`s a program run creates. A resource is named
`<Kind>:<name>`: an object by its Kubernetes kind, a component by its class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pytest

from components.kubernetes_object import KubernetesObject


@dataclass(frozen=True)
class Declared:
    kind: str
    parent: str
    depends_on: list[str]


def recorded_declarations(monkeypatch: pytest.MonkeyPatch) -> dict[str, Declared]:
    """A mapping filled, while the program runs, with every Kubernetes object it declares, by
    `<Kind>:<name>` (a version's Deployment, Service and HPA share a resource name)."""
    declared: dict[str, Declared] = {}
    kinds: dict[int, str] = {}
    original = KubernetesObject.__init__

    def label(resource: Any) -> str:
        return f"{kinds.get(id(resource), type(resource).__name__)}:{resource._name}"

    def recording(
        self: KubernetesObject, resource_name: str, api_version: str, kind: str, *rest: Any
    ) -> None:
        kinds[id(self)] = kind
        opts = rest[1] if len(rest) > 1 else None
        options = opts or pulumi.ResourceOptions()
        waits = [label(r) for r in options.depends_on or [] if isinstance(r, pulumi.Resource)]  # type: ignore[union-attr]
        parent = label(options.parent) if options.parent is not None else ""
        declared[f"{kind}:{resource_name}"] = Declared(kind, parent, waits)
        original(self, resource_name, api_version, kind, *rest)

    monkeypatch.setattr(KubernetesObject, "__init__", recording)
    return declared
