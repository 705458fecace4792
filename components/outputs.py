"""Stack exports: what other stacks and teams read through StackReference.

`contract` is the versioned interface (components/contract, docs/contract.md); `namespace` stays as a
plain convenience for scripts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from components.catalog.catalog import Catalog
from components.catalog.shard import ShardRole
from components.catalog.stack_config import StackConfig
from components.contract.output import contract_output
from components.gpu.capacity_report import capacity_plan
from components.stack import ModelStack


def _pinned(model: str, version: str, image: str | None) -> str:
    if image is None:
        raise ValueError(f"version {version} of {model} builds its image: it must be declared in every run")
    return image


def stack_outputs(
    model_stack: ModelStack,
    catalog: Catalog,
    stack: StackConfig,
    planned: Callable[[], dict[str, Any] | None] | None = None,
) -> dict[str, Any]:
    # `.image` of a version is an Output: a built version's digest is only known after its build. A model
    # this run did not declare (the offline render cache holds its objects) has only pinned images. Only
    # the models this stack owns (a base: none; a shard: its selection) are in its contract.
    images: dict[str, dict[str, Any]] = {}
    for model_name, model in model_stack.served.items():
        served = model_stack.models.get(model_name)
        if served is not None:
            images[model_name] = {name: version.image for name, version in served.versions.items()}
        else:
            images[model_name] = {
                name: _pinned(model_name, name, v.image) for name, v in model.versions.items()
            }
    # Pools' supply against every version's demand at min/max replicas (docs/gpu.md); computed once for
    # both exports.
    if stack.shard.role is ShardRole.MODELS:
        # A shard's models are planned with every other shard's on the base's pools: the base exports it.
        return {
            "contract": contract_output(catalog, stack, pulumi.get_stack(), images),
            "namespace": stack.namespace,
        }
    supplied = planned() if planned is not None else None
    capacity = capacity_plan(catalog, stack) if supplied is None else supplied
    return {
        "contract": contract_output(catalog, stack, pulumi.get_stack(), images, capacity),
        "namespace": stack.namespace,
        "capacity": capacity,
    }
