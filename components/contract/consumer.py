"""Read a modelstack contract from another stack, typed and validated.

    ref = pulumi.StackReference("acme/modelstack/prod")
    contract = read_contract(ref)                       # Output[Contract]
    url = contract.apply(lambda c: c.model("llm-chat").mesh.url)

Validation happens when the value arrives: an unknown `schemaVersion` or a document that does not match
its schema fails the consumer's deployment with a message saying what it found and what it understands.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import ValidationError

from components.contract.schema import SUPPORTED_SCHEMA_VERSIONS, Contract, ModelContract

CONTRACT_OUTPUT = "contract"


class ContractError(pulumi.RunError):
    """The referenced stack's contract cannot be used by this reader.

    A RunError: raised inside an `apply` of a consumer's program, the real engine fails the update with
    the message alone (any other exception prints a Python traceback of the SDK's event loop). Not a
    ValueError: when the failing Output is a `depends_on` of a resource, pulumi's `do_register`
    (sdk/python/lib/pulumi/runtime/resource.py, 3.x) re-raises any ValueError as a plain ValueError
    "While processing resource: …", which loses the RunError and prints the traceback after all."""


def stack_name(org: str, stack: str, project: str = "modelstack") -> str:
    """Fully qualified stack name for StackReference: `<org>/<project>/<stack>`."""
    return f"{org}/{project}/{stack}"


def parse_contract(raw: Any, source: str = "contract") -> Contract:
    """Validate exported data as a Contract; refuses schema versions this code does not understand."""
    if not isinstance(raw, Mapping):
        raise ContractError(
            f"{source} is not an object (got {type(raw).__name__}); is it a modelstack stack?"
        )
    version = raw.get("schemaVersion")
    if isinstance(version, float) and version.is_integer():
        version = int(version)  # numbers come through the Pulumi engine as floats
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        understood = ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
        raise ContractError(
            f"{source} has schemaVersion {version!r}, but this reader understands schemaVersion {understood} "
            "only — upgrade modelstack (components.contract) to a release that reads it"
        )
    try:
        return Contract.model_validate(raw)
    except ValidationError as exc:
        raise ContractError(f"{source} does not match contract schemaVersion {version}:\n{exc}") from None


def model_of(contract: Contract, name: str) -> ModelContract:
    """One model of the contract; the error lists the models the stack does serve."""
    try:
        return contract.models[name]
    except KeyError:
        known = ", ".join(sorted(contract.models)) or "none"
        raise ContractError(f"stack {contract.stack} serves no model {name!r} (it serves: {known})") from None


def read_contract(reference: pulumi.StackReference, output: str = CONTRACT_OUTPUT) -> pulumi.Output[Contract]:
    """The referenced stack's contract; fails clearly when the output is missing or not understood."""
    source = reference.name.apply(lambda name: f"stack {name} output {output!r}")
    return pulumi.Output.all(reference.require_output(output), source).apply(
        lambda pair: parse_contract(pair[0], pair[1])
    )
