"""Stack exports: what other stacks and teams read through StackReference.

`contract` is the versioned interface (components/contract, docs/contract.md); `namespace` stays as a
plain convenience for scripts.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.catalog.catalog import Catalog
from components.catalog.shard import ShardRole
from components.catalog.stack_config import StackConfig
from components.contract.build import contract_output
from components.gpu.capacity import capacity_plan
from components.stack import ModelStack


def stack_outputs(model_stack: ModelStack, catalog: Catalog, stack: StackConfig) -> dict[str, Any]:
    # `.image` of a version is an Output: a built version's digest is only known after its build.
    images = {
        model_name: {version_name: version.image for version_name, version in served.versions.items()}
        for model_name, served in model_stack.models.items()
    }
    # Pools' supply against every version's demand at min/max replicas (docs/gpu.md); computed once for
    # both exports.
    if stack.shard.role is ShardRole.MODELS:
        # A shard's models are planned with every other shard's on the base's pools: the base exports it.
        return {
            "contract": contract_output(catalog, stack, pulumi.get_stack(), images),
            "namespace": stack.namespace,
        }
    capacity = capacity_plan(catalog, stack)
    return {
        "contract": contract_output(catalog, stack, pulumi.get_stack(), images, capacity),
        "namespace": stack.namespace,
        "capacity": capacity,
    }
