"""Build the stack contract from the validated catalog and stack configuration, given resolved image
references (`components.contract.output` waits for a built version's digest first).

Pure: no Pulumi SDK, so the validation and the render cache's keys (a models shard's view of its base)
import it without loading the SDK.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from components.catalog.catalog import Catalog
from components.catalog.model import ModelSpec, is_autoscaled
from components.catalog.shard import ShardRole
from components.catalog.stack_config import StackConfig
from components.catalog.version import VersionSpec
from components.contract.schema import SCHEMA_VERSION, Contract
from components.facts.mig import resource_name
from components.gpu.capacity_report import capacity_plan
from components.naming import version_object_name

ImageRefs = Mapping[str, Mapping[str, str]]
"""model → version → `repo@sha256:…`."""


def mesh_host(model_name: str, namespace: str) -> str:
    return f"{model_name}.{namespace}.svc.cluster.local"


def external_host(model_name: str, model: ModelSpec, stack: StackConfig) -> str | None:
    if model.expose is None:
        return None
    return model.expose.host or f"{model_name}.{stack.istio.domain}"


def _gpu(version: VersionSpec, stack: StackConfig) -> dict[str, Any] | None:
    res = version.resources
    if res.gpu == 0:
        return None
    pool = stack.pool(version.node_pool) if version.node_pool else None
    strategy = pool.mig_strategy.value if pool else "none"
    return {
        "count": res.gpu,
        "migProfile": res.mig_profile,
        "resource": resource_name(strategy, res.mig_profile),
    }


def _version(
    model_name: str, model: ModelSpec, name: str, version: VersionSpec, *, image: str, stack: StackConfig
) -> dict[str, Any]:
    object_name = version_object_name(model_name, name)
    return {
        "image": image,
        "digest": image.partition("@")[2],
        "weight": version.weight,
        "replicas": {
            "min": version.replicas.min,
            "max": version.replicas.max,
            "autoscaled": is_autoscaled(model, version),
        },
        "nodePool": version.node_pool,
        "gpu": _gpu(version, stack),
        "deployment": object_name,
        "service": object_name,
    }


def _model(
    model_name: str, model: ModelSpec, images: Mapping[str, str], stack: StackConfig
) -> dict[str, Any]:
    server = model.server_preset
    host = mesh_host(model_name, stack.namespace)
    exposed = external_host(model_name, model, stack)
    scaling = model.autoscaling
    return {
        "api": server.kind.value,
        "mesh": {"host": host, "port": server.port, "url": f"http://{host}:{server.port}"},
        "external": None
        if exposed is None or model.expose is None
        else {"host": exposed, "pathPrefix": model.expose.path_prefix, "url": f"https://{exposed}"},
        "metrics": {
            "port": server.metrics_port,
            "path": server.metrics_path,
            "queueMetric": server.queue_metric,
            "exposed": list(server.metrics),
        },
        "autoscaling": None
        if scaling is None
        else {
            "metric": scaling.metric or server.queue_metric,
            "type": scaling.type.value,
            "target": scaling.target,
        },
        "versions": {
            name: _version(model_name, model, name, version, image=images[name], stack=stack)
            for name, version in model.versions.items()
        },
    }


def shared_digest(stack: StackConfig) -> str:
    """`sha256:` of every setting a base shares with its shards (all but what each shard sets itself)."""
    shared = stack.model_dump(
        mode="json", by_alias=True, exclude={"kubernetes", "shard", "registry_password"}
    )
    return "sha256:" + hashlib.sha256(json.dumps(shared, sort_keys=True).encode()).hexdigest()


def shard_export(stack: StackConfig) -> dict[str, Any] | None:
    """The contract's `shard` of a sharded stack; None for an unsharded one."""
    if stack.shard.role is ShardRole.ALL:
        return None
    return {"role": stack.shard.role.value, "base": stack.shard.base, "shared": shared_digest(stack)}


def contract_document(
    catalog: Catalog,
    stack: StackConfig,
    stack_name: str,
    images: ImageRefs,
    capacity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The contract as plain camelCase data, before validation, of the models in `images` (the stack's
    own, in catalog order). `capacity`: the plan, when the caller already computed it (the stack exports
    it too); a models shard exports none."""
    document = {
        "schemaVersion": SCHEMA_VERSION,
        "stack": stack_name,
        "namespace": stack.namespace,
        "models": {name: _model(name, catalog.models[name], refs, stack) for name, refs in images.items()},
        "capacity": None
        if stack.shard.role is ShardRole.MODELS
        else (capacity_plan(catalog, stack) if capacity is None else capacity),
    }
    shard = shard_export(stack)
    if shard is not None:
        document["shard"] = shard
    return document


def dumped(contract: Contract) -> dict[str, Any]:
    document = contract.model_dump(mode="json", by_alias=True)
    if document.get("shard") is None:
        document.pop("shard", None)  # unsharded stacks export what they exported before shards existed
    return document


def build_contract(
    catalog: Catalog,
    stack: StackConfig,
    stack_name: str,
    images: ImageRefs,
    capacity: dict[str, Any] | None = None,
) -> Contract:
    """The contract of one stack; raises pydantic's ValidationError if it would break the schema."""
    return Contract.model_validate(contract_document(catalog, stack, stack_name, images, capacity))
