"""`modelstack preview`: render the working tree and a base, and print the plan between them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from components.catalog.errors import Problem
from modelstack.engine.diff import Plan, contract_weights, plan, plan_by_digest, read_render, read_weights
from modelstack.engine.render_bundle import Bundle, BundleError, ReferenceBundle, read_bundle
from modelstack.engine.render_cache import RenderCache

Guard = Callable[[Path, Path], Sequence[Problem]]
"""Called with the base and the head render directories (a cached head's holds only its versions lock,
what the released-versions guard reads); the problems it returns refuse the preview (exit 2), and are
shown beside the plan in the pull-request comment."""


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


def _base_env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree), "PYTHONSAFEPATH": ""}


def _render_command(stack: str, *target: str) -> list[str]:
    return [sys.executable, "-m", "modelstack", "render", "--stack", stack, *target]


def _failed(ref: str, stdout: str, stderr: str) -> BaseRenderError:
    detail = (stderr or stdout).strip().splitlines()[-5:]
    return BaseRenderError(f"base {ref!r} does not render:\n  " + "\n  ".join(detail))


def _render_tree(tree: Path, ref: str, stack: str, out: Path) -> Path:
    result = subprocess.run(
        _render_command(stack, "--out", str(out)),
        cwd=tree,
        env=_base_env(tree),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise _failed(ref, result.stdout, result.stderr)
    return out


def render_git_base(root: Path, ref: str, stack: str, out: Path) -> Path:
    """Render revision `ref` with its own code (in a temporary worktree), not today's."""
    with _worktree(root, ref) as tree:
        return _render_tree(tree, ref, stack, out)


Base = Bundle | ReferenceBundle | Path
"""A base render: a bundle in memory (its objects' texts, or their names in the render cache), or a
directory (a revision whose code has no `render --bundle`)."""


def _lacks(returncode: int, stderr: str, option: str) -> bool:
    # Click words it "No such option: --bundle" or "No such option '--bundle'." by version.
    return returncode == 2 and "No such option" in stderr and option in stderr


@contextmanager
def git_base_started(
    root: Path, ref: str, stack: str, work: Path, cache: RenderCache | None = None
) -> Iterator[Callable[[], Base]]:
    """Start rendering revision `ref` with its own code (a temporary worktree) into a bundle, in a process
    of its own; the callable waits for it. The head is rendered meanwhile: on two cores the base's render
    is then nearly free. With `cache` (the one the base's process uses too, `$MODELSTACK_CACHE_DIR`), the
    bundle names the cached models' objects instead of copying them (`render --by-reference`); a revision
    whose CLI lacks that option writes the whole bundle, one whose CLI has no `--bundle`, or that writes
    another bundle format, is rendered into a directory. Leaving the block early stops the render and
    removes the tree."""
    with _worktree(root, ref) as tree:
        bundle = work / "base.json"
        reference = ["--by-reference"] if cache is not None else []
        process = subprocess.Popen(
            _render_command(stack, "--bundle", str(bundle), *reference),
            cwd=tree,
            env=_base_env(tree),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

        def finish() -> Base:
            stdout, stderr = process.communicate()
            finished.append(True)
            returncode = process.returncode
            if reference and _lacks(returncode, stderr, "--by-reference"):
                again = subprocess.run(
                    _render_command(stack, "--bundle", str(bundle)),
                    cwd=tree,
                    env=_base_env(tree),
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                )
                returncode, stdout, stderr = again.returncode, again.stdout, again.stderr
            if _lacks(returncode, stderr, "--bundle"):
                return _render_tree(tree, ref, stack, work / "base")
            if returncode != 0:
                raise _failed(ref, stdout, stderr)
            try:
                return read_bundle(bundle, cache)
            except BundleError:
                return _render_tree(tree, ref, stack, work / "base")

        finished: list[bool] = []
        try:
            yield finish
        finally:
            if not finished:
                if process.poll() is None:
                    process.kill()
                process.communicate()


@dataclass(frozen=True)
class Preview:
    """A plan, with what a reviewer must also see: catalog warnings and refused release changes."""

    plan: Plan
    warnings: tuple[Problem, ...] = ()
    findings: tuple[Problem, ...] = ()
    """Released versions the working tree would change: the preview is refused (exit 2) when any."""


def preview(
    root: Path,
    stack: str,
    base_ref: str | None,
    base_dir: Path | None,
    work: Path,
    *,
    guard: Guard | None = None,
    cache: RenderCache | None = None,
) -> Preview:
    """Render the working tree (CatalogError when it is invalid) and the base, and compare them.

    With `cache`, the head comes from the render cache and the base directory is compared by digest
    (`modelstack.engine.incremental`, `render_index`): the same plan, warnings and findings."""
    if cache is not None:
        from modelstack.engine.incremental import UnattributableRenderError
        from modelstack.engine.render_store import CacheVanishedError

        try:
            return _cached_preview(root, stack, base_ref, base_dir, work, guard=guard, cache=cache)
        except (CacheVanishedError, UnattributableRenderError):
            pass
    from components.validation.loader import load_stack_and_catalog
    from modelstack.engine.render import render_stack

    # Both files in one run: an invalid stack file is reported with every catalog error found without it.
    warnings = load_stack_and_catalog(root, stack)[1].warnings
    head_dir = work / "head"
    head = render_stack(root, stack, head_dir)
    if base_dir is None and base_ref is not None:
        base_dir = render_git_base(root, base_ref, stack, work / "base")
    findings: list[Problem] = []
    if base_dir is not None and guard is not None:
        findings = list(guard(base_dir, head_dir))
    base = read_render(base_dir) if base_dir is not None else {}
    base_weights = read_weights(base_dir) if base_dir is not None else {}
    # The head's objects are still in memory: reading back the files just written doubled the YAML cost.
    result = plan(base, {m.key: m.body for m in head.manifests}, base_weights, contract_weights(head.outputs))
    return Preview(result, tuple(warnings), tuple(findings))


def _cached_preview(
    root: Path,
    stack: str,
    base_ref: str | None,
    base_dir: Path | None,
    work: Path,
    *,
    guard: Guard | None,
    cache: RenderCache,
) -> Preview:
    from modelstack.engine.forked import beside
    from modelstack.engine.incremental import cached_render
    from modelstack.engine.lock import LOCK_FILE
    from modelstack.engine.render_files import lock_json
    from modelstack.engine.render_index import directory_index, read_object

    def base_side(directory: Path) -> tuple[dict[str, dict[str, int]] | None, dict[str, str] | None]:
        return read_weights(directory), directory_index(directory, cache)

    with ExitStack() as started:
        pending = None
        if base_dir is None and base_ref is not None:
            pending = started.enter_context(git_base_started(root, base_ref, stack, work, cache))
        # A base directory's weights and index (~0.1 s at 1,000 models: a stat of every file) need nothing
        # of the head: read in a child meanwhile (`forked.beside`).
        indexed = started.enter_context(beside(lambda: base_side(base_dir))) if base_dir is not None else None
        head = cached_render(root, stack, cache)
        base: Base | None = pending() if pending is not None else base_dir
        base_read = indexed() if indexed is not None else None
    # What the guard reads of the head: its lock only (the objects stay in the cache; the outputs are
    # compared in memory, so writing them, ~0.5 s of JSON at 1,000 models, bought nothing).
    head_dir = work / "head"
    head_dir.mkdir(parents=True, exist_ok=True)
    # Compact: the guard parses it, nobody reads it (an indented dump is Python's slow encoder).
    (head_dir / LOCK_FILE).write_text(json.dumps(head.lock, separators=(",", ":")))
    lock_dir = base
    if isinstance(base, Bundle | ReferenceBundle):
        # Only the lock of a bundle is a file: what the guard reads.
        lock_dir = work / "base-lock"
        lock_dir.mkdir(parents=True, exist_ok=True)
        (lock_dir / LOCK_FILE).write_text(lock_json(base.lock))
    findings: list[Problem] = []
    if isinstance(lock_dir, Path) and guard is not None:
        findings = list(guard(lock_dir, head_dir))
    head_digests = {key: sha for key, (sha, _) in head.index.items()}
    head_weights = contract_weights(head.outputs)
    if base is None:
        result = plan_by_digest(
            {}, head_digests, lambda key: None, head.body, base_weights={}, head_weights=head_weights
        )
        return Preview(result, head.warnings, tuple(findings))
    if isinstance(base, Bundle | ReferenceBundle):
        result = plan_by_digest(
            base.index(),
            head_digests,
            base.body,
            head.body,
            base_weights=contract_weights(base.outputs),
            head_weights=head_weights,
        )
        return Preview(result, head.warnings, tuple(findings))
    # A revision rendered into a directory (its CLI predates `render --bundle`) is read here.
    base_weights, index = base_read if base_read is not None else base_side(base)
    if index is None:
        result = plan(
            read_render(base), {key: head.body(key) for key in head.index}, base_weights, head_weights
        )
    else:
        directory = base
        result = plan_by_digest(
            index,
            head_digests,
            lambda key: read_object(directory, key),
            head.body,
            base_weights=base_weights,
            head_weights=head_weights,
        )
    return Preview(result, head.warnings, tuple(findings))
