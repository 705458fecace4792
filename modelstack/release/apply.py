"""How the release loop applies a committed catalog to its stack: `pulumi up` or the offline render.

`AutomationApply` runs `pulumi up` through the Pulumi Automation API (`pulumi.automation`) on the
project's own program and stack — what the deploy workflow's `pulumi up` does, from Python, so the loop
can tell success from failure and revert. `OfflineApply` renders the stack with the offline engine into
`rendered/<stack>` (the dev stack's render target), for machines without a Pulumi backend.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class ApplyError(RuntimeError):
    """The stack update failed; the message carries the engine's output."""


class Applier(Protocol):
    def apply(self, root: Path, stack: str) -> str:
        """Bring `stack` to the project's state in `root`; returns a one-line summary or raises ApplyError."""
        ...


@dataclass(frozen=True)
class OfflineApply:
    """The offline engine (`modelstack render`): writes the stack's objects to `out` (default rendered/<stack>)."""

    out: Path | None = None

    def apply(self, root: Path, stack: str) -> str:
        from components.catalog.errors import CatalogError
        from modelstack.engine.render import render_stack

        target = self.out or root / "rendered" / stack
        try:
            result = render_stack(root, stack, target)
        except CatalogError as err:
            raise ApplyError("; ".join(str(p) for p in err.problems)) from None
        except Exception as err:  # the program failed: the loop reverts its commit
            raise ApplyError(f"{type(err).__name__}: {err}") from None
        return f"rendered {len(result.manifests)} objects of stack {stack} to {target}"


@dataclass(frozen=True)
class AutomationApply:
    """`pulumi up` of the project's program on `stack_name` via the Automation API."""

    stack_name: str | None = None
    """The Pulumi stack (e.g. org/modelstack/prod); default: the configuration's stack name."""
    pulumi: Path | None = None
    """The pulumi CLI to run; default: `pulumi` on PATH."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment of the engine (backend URL, passphrase, PULUMI_HOME, …)."""
    policy_packs: tuple[str, ...] = ()
    """Policy packs the update enforces, as the deploy workflow's `pulumi up` does."""

    def apply(self, root: Path, stack: str) -> str:
        from pulumi import automation as auto

        output: list[str] = []
        try:
            with tempfile.TemporaryDirectory(prefix="modelstack-pulumi-") as tmp:
                command = auto.PulumiCommand(root=self._cli_root(Path(tmp)), skip_version_check=True)
                options = auto.LocalWorkspaceOptions(
                    work_dir=str(root), env_vars=dict(self.env), pulumi_command=command
                )
                selected = auto.select_stack(
                    stack_name=self.stack_name or stack, work_dir=str(root), opts=options
                )
                result = selected.up(
                    color="never",
                    on_output=output.append,
                    message="modelstack release run",
                    policy_packs=list(self.policy_packs) or None,
                )
        except Exception as err:  # CommandError and friends: the update did not complete
            raise ApplyError(f"pulumi up failed: {_tail(str(err) or ''.join(output))}") from None
        changes = result.summary.resource_changes or {}
        counts = ", ".join(f"{op} {n}" for op, n in sorted(changes.items()) if op != "same") or "no changes"
        return f"pulumi up of {self.stack_name or stack}: {result.summary.result} ({counts})"

    def _cli_root(self, tmp: Path) -> str | None:
        # PulumiCommand runs <root>/bin/pulumi; a CLI elsewhere is linked into such a layout.
        if self.pulumi is None:
            return None
        binary = self.pulumi.resolve()
        if binary.parent.name == "bin":
            return str(binary.parent.parent)
        (tmp / "bin").mkdir()
        os.symlink(binary, tmp / "bin" / "pulumi")
        return str(tmp)


def _tail(text: str, limit: int = 2000) -> str:
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]
