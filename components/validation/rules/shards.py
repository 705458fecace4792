"""Sharded stacks: every model of the catalog is owned by exactly one models stack of its base.

Two shards owning a model would both declare its objects under the same Kubernetes names (one's delete
removes what the other serves); a model no shard owns would silently not be served.
"""

from __future__ import annotations

from collections.abc import Iterator

from components.catalog.errors import Finding, Severity
from components.catalog.shard import ShardRole
from components.validation.rules.context import RuleContext
from components.validation.shards import Shards


def every_model_owned_once(ctx: RuleContext) -> Iterator[Finding]:
    shard = ctx.stack.shard
    if shard.role is not ShardRole.MODELS or shard.base is None or ctx.project_dir is None:
        return
    shards = Shards.of(ctx.project_dir)
    family = sorted(shards.family(shard.base))
    owners = shards.owners(shard.base, ((n, m.owner, m.labels) for n, m in ctx.models.items()))
    for name, stacks in owners.items():
        if not stacks:
            yield Finding(
                ("models", name),
                f"no models stack of base {shard.base} ({', '.join(family)}) selects model {name} (owner "
                f"{ctx.models[name].owner or 'none'!r}), so nothing would serve it — add its owner, name or "
                "labels to one shard's modelstack:shard.models",
            )
        elif len(stacks) > 1:
            yield Finding(
                ("models", name),
                f"model {name} is selected by {' and '.join(stacks)}: both would declare its objects under "
                f"the same names in namespace {ctx.stack.namespace}, and one's delete would remove what the "
                "other serves — narrow their modelstack:shard.models so exactly one selects it",
            )
    for name in shard.hand_over:
        if name not in ctx.models:
            yield Finding(
                ("models",),
                f"modelstack:shard.handOver names {name!r}, which is not in the catalog — remove it",
                Severity.WARNING,
            )


SHARD_RULES = (every_model_owned_once,)
