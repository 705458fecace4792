"""`BaseReference`: a models shard's view of its base stack, through a real `pulumi.StackReference`.

The shard's settings come from the base's stack file (the program validates them before registering
anything); what the reference adds is the base *as deployed*: its contract (components/contract, read and
version-checked like any consumer reads it) must say it is that base and carry the same shared settings.
Every object of the shard depends on that check, so `pulumi up` of a shard on a base that was not
deployed first (or was deployed from other settings) fails before creating anything; a preview warns.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.catalog.stack_config import StackConfig
from components.contract.build import shared_digest
from components.contract.consumer import ContractError, read_contract
from components.contract.schema import Contract


def base_stack_name(base: str) -> str:
    """`<organization>/<project>/<base>`: the base is a stack of this project, in this organization."""
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{base}"


def base_problem(contract: Contract, base: str, stack: StackConfig) -> str | None:
    """Why the deployed base cannot carry this shard, or None."""
    shard = contract.shard
    if shard is None or shard.role != "base":
        return f"stack {base} does not export a base (contract.shard.role is not base) — deploy it with role base"
    if contract.namespace != stack.namespace:
        return f"base {base} owns namespace {contract.namespace}, this shard deploys to {stack.namespace}"
    if shard.shared != shared_digest(stack):
        return (
            f"base {base} was deployed with other shared settings ({shard.shared[:19]}…) than this shard "
            f"reads from Pulumi.{base}.yaml ({shared_digest(stack)[:19]}…) — `pulumi up` the base first "
            "(the deploy workflow ups bases before their shards)"
        )
    return None


@dataclass(frozen=True)
class BaseReferenceArgs:
    base: str
    stack: StackConfig


class BaseReference(pulumi.ComponentResource):
    reference: pulumi.StackReference
    ready: pulumi.Output[list[pulumi.Resource]]
    """The reference, once the base is checked: what every object of the shard depends on."""

    def __init__(
        self, name: str, args: BaseReferenceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("modelstack:index:BaseReference", name, None, opts)
        full = base_stack_name(args.base)
        self.reference = pulumi.StackReference(
            full, stack_name=full, opts=pulumi.ResourceOptions(parent=self)
        )

        def checked(contract: Contract) -> list[pulumi.Resource]:
            problem = base_problem(contract, args.base, args.stack)
            if problem is not None:
                if pulumi.runtime.is_dry_run():
                    pulumi.log.warn(f"{problem}; the shard's update would fail until then")
                else:
                    raise ContractError(problem)
            return [self.reference]

        self.ready = read_contract(self.reference).apply(checked)
        self.register_outputs({"base": full})
