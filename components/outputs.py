"""Stack exports: what other teams read through StackReference."""

from __future__ import annotations

from typing import Any

from components.catalog.catalog import Catalog
from components.catalog.stack_config import StackConfig
from components.naming import version_object_name
from components.stack import ModelStack


def stack_outputs(model_stack: ModelStack, catalog: Catalog, stack: StackConfig) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for name, model in catalog.models.items():
        server = model.server_preset
        models[name] = {
            "host": f"{name}.{stack.namespace}.svc.cluster.local",
            "port": server.port,
            "server": server.kind.value,
            "versions": {
                v: {
                    "deployment": version_object_name(name, v),
                    "image": model_stack.models[name].versions[v].image,
                    "weight": spec.weight,
                }
                for v, spec in model.versions.items()
            },
        }
    return {"namespace": stack.namespace, "models": models}
