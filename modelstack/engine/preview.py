"""`modelstack preview`: render the working tree and a base, and print the plan between them."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from modelstack.engine.diff import Plan, plan, read_render
from modelstack.engine.render import render_stack

Guard = Callable[[Path, Path], None]
"""Called with the base and the head render directories before the plan is made; raises to refuse it."""


class BaseRenderError(Exception):
    """The base revision could not be rendered (not a revision, or its program fails)."""


@contextmanager
def _worktree(root: Path, ref: str) -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix="modelstack-base-"))
    tree = tmp / "tree"
    added = subprocess.run(
        ["git", "-C", str(root), "worktree", "add", "--detach", "--quiet", str(tree), ref],
        capture_output=True,
        text=True,
    )
    if added.returncode != 0:
        raise BaseRenderError(f"cannot check out base {ref!r}: {added.stderr.strip()}")
    try:
        yield tree
    finally:
        subprocess.run(
            ["git", "-C", str(root), "worktree", "remove", "--force", str(tree)], capture_output=True
        )
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


def render_git_base(root: Path, ref: str, stack: str, out: Path) -> Path:
    """Render revision `ref` with its own code (in a temporary worktree), not today's."""
    with _worktree(root, ref) as tree:
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONSAFEPATH": ""}
        result = subprocess.run(
            [sys.executable, "-m", "modelstack", "render", "--stack", stack, "--out", str(out)],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise BaseRenderError(f"base {ref!r} does not render:\n  " + "\n  ".join(detail))
    return out


def preview(
    root: Path,
    stack: str,
    base_ref: str | None,
    base_dir: Path | None,
    work: Path,
    *,
    guard: Guard | None = None,
) -> Plan:
    head_dir = work / "head"
    head = render_stack(root, stack, head_dir)
    if base_dir is None and base_ref is not None:
        base_dir = render_git_base(root, base_ref, stack, work / "base")
    if base_dir is not None and guard is not None:
        # The release tooling's check that a released version never changes: it refuses (exit 2) here,
        # before any plan is printed.
        guard(base_dir, head_dir)
    base = read_render(base_dir) if base_dir is not None else {}
    # The head's objects are still in memory: reading back the files just written doubled the YAML cost.
    return plan(base, {m.key: m.body for m in head.manifests})
