"""Run examples/consumer under Pulumi's mock runtime, in its own process (the mock runtime is global).

    python consumer_harness.py OUTPUTS_JSON CONFIG_JSON

OUTPUTS_JSON holds the outputs of the referenced stack (e.g. a render's outputs.json); CONFIG_JSON the
consumer's config (`{"org": ..., "modelstackStack": ...}`). Prints one JSON object: the stack names the
program referenced and its exports, or the error it failed with.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT = "modelstack-consumer"
PROGRAM = Path(__file__).resolve().parents[2] / "examples" / "consumer" / "__main__.py"


class StackReferenceMocks(Mocks):
    """Answers every StackReference with the given outputs, as Pulumi's testing guide describes."""

    def __init__(self, outputs: dict[str, Any]) -> None:
        self.outputs = outputs
        self.references: list[str] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            self.references.append(args.inputs.get("name", args.name))
            return args.name, {"name": args.inputs.get("name"), "outputs": self.outputs}
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def run(outputs: dict[str, Any], config: dict[str, str]) -> dict[str, Any]:
    os.environ["PULUMI_CONFIG"] = json.dumps({f"{PROJECT}:{k}": v for k, v in config.items()})
    mocks = StackReferenceMocks(outputs)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="test", preview=False)

    async def resolve() -> Any:
        exported = getattr(settings.get_root_resource(), "outputs", {})
        return await pulumi.Output.from_input(exported).future()

    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(PROGRAM), run_name="__main__")))
        return {"references": mocks.references, "exports": _sync_await(resolve())}
    except Exception as exc:
        return {"references": mocks.references, "error": f"{type(exc).__name__}: {exc}"}


if __name__ == "__main__":
    result = run(json.loads(Path(sys.argv[1]).read_text()), json.loads(Path(sys.argv[2]).read_text()))
    print(json.dumps(result))
