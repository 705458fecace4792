"""A ContractError that a resource waits on (`depends_on`) reaches the engine as a RunError.

The language host prints a RunError's message alone and any other exception with the SDK's traceback.
pulumi's `do_register` re-raises every ValueError met while preparing a resource as a new plain
ValueError ("While processing resource: …"), so a ContractError that were also a ValueError would lose
its RunError-ness exactly where a shard's objects wait on the base check (components/base_reference.py).
This runs the installed SDK's own registration path, in a subprocess: its mock runtime is process-global.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import pulumi
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await
    from components.contract.consumer import ContractError

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            return [args.name + "_id", args.inputs]

        def call(self, args):
            return {}

    def refuse(_):
        raise ContractError("base was deployed with other shared settings")

    def program():
        ready = pulumi.Output.from_input(1).apply(refuse)
        pulumi.CustomResource("test:index:Thing", "thing", {}, opts=pulumi.ResourceOptions(depends_on=ready))

    pulumi.runtime.set_mocks(Mocks(), preview=False)
    try:
        _sync_await(run_pulumi_func(program))
    except Exception as exc:
        print(type(exc).__name__, isinstance(exc, pulumi.RunError), exc, sep="|")
    """
)


def test_a_contract_error_awaited_by_depends_on_stays_a_run_error() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=True
    )
    kind, is_run_error, message = done.stdout.strip().split("|")
    assert (kind, is_run_error) == ("ContractError", "True")
    assert message == "base was deployed with other shared settings"
