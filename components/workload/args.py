"""What a `ModelVersion` is built from: validated catalog objects, never raw dicts."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.catalog.model import ModelSpec
from components.catalog.node_pool import NodePool
from components.catalog.stack_config import StackConfig
from components.catalog.version import VersionSpec


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

    @property
    def pool(self) -> NodePool | None:
        """The version's node pool (the catalog guarantees it exists when named)."""
        return self.stack.pool(self.version.node_pool) if self.version.node_pool else None
