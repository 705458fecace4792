"""One Kubernetes object of a render: what it is, where it lives in the cluster and in a render directory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Manifest:
    api_version: str
    kind: str
    namespace: str | None
    name: str
    body: dict[str, Any]

    @property
    def key(self) -> str:
        """Identity of the object in the cluster, also its file path in a render."""
        group = self.api_version.split("/")[0] if "/" in self.api_version else "core"
        return f"{self.namespace or '_cluster'}/{self.kind}.{group}/{self.name}.yaml"
