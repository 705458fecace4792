"""The stacks of a project and the part of the catalog each one owns (docs/sharding.md).

Every stack file of the project is in the repository, like the catalog, so any stack (and any command)
can tell offline which stack owns which model: a shard checks that its base's family owns every model
exactly once, and `modelstack stacks` computes which stacks a change touches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from components.catalog.errors import CatalogError
from components.catalog.pulumi_config import NAMESPACE, decode, encode
from components.catalog.shard import ShardConfig, ShardRole
from components.catalog.source import load_yaml
from components.catalog.stack_config import StackConfig

STACK_FILE_PREFIX = "Pulumi."


def project_stacks(project: Path) -> list[str]:
    """Every stack with a `Pulumi.<stack>.yaml` in the project, sorted."""
    return sorted(
        path.name[len(STACK_FILE_PREFIX) : -len(".yaml")]
        for path in project.glob("Pulumi.*.yaml")
        if path.is_file()
    )


def declared_shard(project: Path, stack: str) -> ShardConfig | None:
    """The `modelstack:shard` a stack file declares (the default when absent); None when the file or the
    setting is invalid (that stack's own validation reports it)."""
    path = project / f"{STACK_FILE_PREFIX}{stack}.yaml"
    try:
        data, source = load_yaml(path, path.name, keep_text=True)
    except (CatalogError, OSError):
        return None
    config = data.get("config") if isinstance(data, dict) else None
    key = f"{NAMESPACE}:shard"
    if not isinstance(config, dict) or key not in config:
        return ShardConfig() if isinstance(config, dict | None) else None
    wire, problems = encode({key: config[key]}, source)
    values, more = decode(wire, StackConfig, source)
    if problems or more:
        return None
    try:
        return ShardConfig.model_validate(values.get("shard", {}))
    except ValidationError:
        return None


@dataclass(frozen=True)
class Shards:
    """The shard settings of every stack of a project."""

    declared: Mapping[str, ShardConfig | None]

    @classmethod
    def of(cls, project: Path) -> Shards:
        return cls({stack: declared_shard(project, stack) for stack in project_stacks(project)})

    def family(self, base: str) -> dict[str, ShardConfig]:
        """The models stacks that build on `base`."""
        return {
            stack: shard
            for stack, shard in self.declared.items()
            if shard is not None and shard.role is ShardRole.MODELS and shard.base == base
        }

    def owners(self, base: str, models: Iterable[tuple[str, str, Mapping[str, str]]]) -> dict[str, list[str]]:
        """Model → the models stacks of `base` that select it, for (name, owner, labels) of each model."""
        family = self.family(base)
        return {
            name: [stack for stack, shard in family.items() if shard.owns(name, owner, labels)]
            for name, owner, labels in models
        }
