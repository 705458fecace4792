"""The exported contract as a Pulumi value: waits for the digests of the images this run builds, then
validates the contract (`components.contract.build`) before it is exported."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import ValidationError

from components.catalog.catalog import Catalog
from components.catalog.stack_config import StackConfig
from components.contract.build import build_contract, contract_document, dumped


def contract_output(
    catalog: Catalog,
    stack: StackConfig,
    stack_name: str,
    images: Mapping[str, Mapping[str, pulumi.Input[str]]],
    capacity: dict[str, Any] | None = None,
) -> pulumi.Output[dict[str, Any]] | dict[str, Any]:
    """The exported contract: JSON-ready camelCase dict, validated once every image digest is known (an
    Output while a built image's digest is pending, else the dict itself)."""

    def export(resolved: Any) -> dict[str, Any]:
        try:
            contract = build_contract(catalog, stack, stack_name, resolved, capacity)
        except ValidationError as exc:
            # An error diagnostic fails `pulumi up`; the offline render still completes, so its
            # outputs.json (checked against docs/contract.schema.json by the tests) shows the fault.
            pulumi.log.error(f"the stack contract does not match its schema: {exc}")
            return contract_document(catalog, stack, stack_name, resolved, capacity)
        return dumped(contract)

    # Only a built image's digest is an Output. Lifting the whole mapping (`Output.from_input`) made an
    # Output of every model's dict, and the SDK walks every Output's value for unknowns: at 1,000 pinned
    # models, a tenth of a warm one-model preview for nothing to wait on.
    pending = [
        (model, version, ref)
        for model, refs in images.items()
        for version, ref in refs.items()
        if isinstance(ref, pulumi.Output)
    ]
    if not pending:
        return export(images)

    def resolved(digests: list[Any]) -> dict[str, Any]:
        refs = {model: dict(versions) for model, versions in images.items()}
        for (model, version, _), digest in zip(pending, digests, strict=True):
            refs[model][version] = digest
        return export(refs)

    return pulumi.Output.all(*(ref for _, _, ref in pending)).apply(resolved)
