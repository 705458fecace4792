"""What an offline run of the program sees outside its project: the Pulumi project's name and, for a
models shard, its base stack as this checkout would deploy it.

Apart from `render` (which loads the Pulumi SDK) so that the render cache can key a run on them while the
SDK is still loading in the other process (`incremental`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PROJECT = "modelstack"


def base_outputs(root: Path, reference: str) -> dict[str, Any]:
    """What a models shard reads of its base offline: the base as this checkout would deploy it (its
    contract without the capacity plan, which a shard does not read)."""
    from components.contract.build import shard_export
    from components.contract.schema import SCHEMA_VERSION
    from components.validation.loader import load_stack_config

    name = reference.rsplit("/", 1)[-1]
    config = load_stack_config(root, name)
    contract = {
        "schemaVersion": SCHEMA_VERSION,
        "stack": name,
        "namespace": config.namespace,
        "models": {},
        "shard": shard_export(config),
    }
    return {"contract": contract, "namespace": config.namespace}
