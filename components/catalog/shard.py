"""`modelstack:shard`: which part of the catalog a stack owns (docs/sharding.md).

One catalog, several stacks of one cluster: a `base` stack holds what the models share (namespace,
PeerAuthentication, node pools, MIG layouts, the metrics adapter's rules) and exports it; each `models`
stack owns the models its selector picks and reads the base through a StackReference. The default role,
`all`, is the unsharded stack: everything in one.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import model_validator

from components.catalog.base import LabelKey, LabelValue, ModelName, StrictModel
from components.catalog.patterns import STACK_NAME, Pattern, excerpt, matching

NAME_PATTERN = Pattern(r"[a-z0-9*?-]{1,30}")
"""A model name with shell wildcards: `*` any run of characters, `?` one (Python's fnmatch)."""

NamePattern = Annotated[
    str,
    matching(
        NAME_PATTERN,
        lambda v: f"{excerpt(v)} is not a model name pattern — write e.g. llm-* (a-z, 0-9, '-', '*', '?')",
        30,
    ),
]
StackName = Annotated[
    str,
    matching(
        STACK_NAME, lambda v: f"{excerpt(v)} is not a stack name — the base's Pulumi.<stack>.yaml name", 100
    ),
]


class ShardRole(StrEnum):
    ALL = "all"
    """The whole catalog and everything it shares, in one stack (the default)."""
    BASE = "base"
    """What the models share, no model: namespace, PeerAuthentication, node pools, MIG, adapter rules."""
    MODELS = "models"
    """The models the selector picks, on the base's namespace and pools."""


class ModelSelector(StrictModel):
    """The models a `models` stack owns: every model that matches any of the lists."""

    owners: tuple[str, ...] = ()
    """Models whose `owner` is one of these."""
    names: tuple[NamePattern, ...] = ()
    """Models whose name matches one of these patterns (`llm-*`)."""
    labels: dict[LabelKey, LabelValue] = {}
    """Models carrying every one of these `labels` (when given)."""

    @model_validator(mode="after")
    def _selects_something(self) -> Self:
        if not (self.owners or self.names or self.labels):
            raise ValueError("a selector needs owners, names or labels — an empty one would own no model")
        return self

    def selects(self, name: str, owner: str, labels: Mapping[str, str]) -> bool:
        """Whether the model `name`, with that `owner` and those `labels`, is picked."""
        if owner in self.owners:
            return True
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.names):
            return True
        return bool(self.labels) and all(labels.get(k) == v for k, v in self.labels.items())


class ShardConfig(StrictModel):
    role: ShardRole = ShardRole.ALL
    base: StackName | None = None
    """`models`: the base stack (its `Pulumi.<base>.yaml` in this project). The shared settings come from
    its file, and its deployed export is read through a StackReference."""
    models: ModelSelector | None = None
    """`models`: the models this stack owns. Every model of the catalog is owned by exactly one models
    stack of a base."""
    hand_over: tuple[ModelName, ...] = ()
    """`models`: models this stack still owns but is about to give to another shard. Their objects are
    retained on delete, so the move that follows never deletes what the receiving shard adopts."""

    @model_validator(mode="after")
    def _fields_of_the_role(self) -> Self:
        if self.role is ShardRole.MODELS:
            missing = [k for k, v in (("base", self.base), ("models", self.models)) if v is None]
            if missing:
                raise ValueError(
                    f"role models needs {' and '.join(missing)}: the base stack it builds on and the "
                    "selector of the models it owns — e.g. {role: models, base: prod-base, models: {owners: [team-a]}}"
                )
            return self
        extra = [
            k for k, v in (("base", self.base), ("models", self.models), ("handOver", self.hand_over)) if v
        ]
        if extra:
            raise ValueError(
                f"{', '.join(extra)} only apply to role models (this stack's role is {self.role.value})"
            )
        return self

    @property
    def owns_shared(self) -> bool:
        return self.role is not ShardRole.MODELS

    def owns(self, name: str, owner: str, labels: Mapping[str, str]) -> bool:
        """Whether this stack declares the model's objects."""
        if self.role is ShardRole.BASE:
            return False
        return self.models is None or self.models.selects(name, owner, labels)


def raw_facets(entry: Any) -> tuple[str, dict[str, str]]:
    """(owner, labels) of a catalog entry as written (unvalidated YAML), for selecting without validating."""
    if not isinstance(entry, Mapping):
        return "", {}
    labels = entry.get("labels")
    return str(entry.get("owner") or ""), (
        {str(k): str(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {}
    )
