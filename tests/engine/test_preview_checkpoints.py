"""`PULUMI_SKIP_CHECKPOINTS=true` is safe for a preview, by the real engine (pulumi v3.274.1).

Why the pull-request workflow sets it: a preview's SnapshotManager has a DiscardPersister
(pkg/backend/diy/backend.go and pkg/backend/httpstate/backend.go), but its default service loop still
serializes and integrity-checks the whole snapshot after every step (pkg/backend/snapshot.go,
`defaultServiceLoop` → `saveSnapshot`), which made a 100-model preview ~580 s; skipping them: 44 s
(docs/performance.md). What makes it safe is what these tests pin: a preview that skips them plans
exactly the steps, with the same inputs, of one that does not, and neither writes any state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.catalog_edits import edit_catalog, set_weights
from tests.engine.engine import SKIP_CHECKPOINTS, Pulumi, Stack, new_stack


@pytest.fixture(scope="module")
def changed(engine: Pulumi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The dev stack, up, then a canary weight edited (so a preview has an update to plan)."""
    with new_stack(engine, tmp_path_factory.mktemp("checkpoints")) as stack:
        stack.up()
        edit_catalog(stack.project, set_weights("llm-chat", v1=80, v2=20), "canary to 20 %")
        yield stack


def state_digests(backend: Path) -> dict[str, str]:
    """Every file the file backend holds but its locks (a command takes and drops one)."""
    return {
        str(path.relative_to(backend)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(backend.rglob("*"))
        if path.is_file() and "locks" not in path.relative_to(backend).parts
    }


def preview(stack: Stack, skip: bool) -> dict[str, Any]:
    engine = stack.engine
    extra = {key: value for key, value in engine.extra_env.items() if key != SKIP_CHECKPOINTS}
    if skip:
        extra[SKIP_CHECKPOINTS] = "true"
    runner = Pulumi(engine.toolchain, engine.home, engine.backend, extra)
    result = runner.run(stack.project, "preview", "--stack", stack.name, "--json", "--diff")
    return json.loads(result.stdout)


def planned(plan: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Each step: its operation, URN and new inputs (as JSON, so dicts compare whole)."""
    return sorted(
        (
            step["op"],
            step["urn"],
            json.dumps((step.get("newState") or {}).get("inputs"), sort_keys=True),
        )
        for step in plan.get("steps", [])
    )


def test_a_preview_skipping_checkpoints_plans_the_steps_of_a_default_preview(changed: Stack) -> None:
    default, skipping = preview(changed, skip=False), preview(changed, skip=True)
    assert planned(skipping) == planned(default)
    assert default["changeSummary"] == skipping["changeSummary"]
    assert skipping["changeSummary"].get("update", 0) >= 1  # the weight change is in both


def test_a_preview_skipping_checkpoints_writes_no_state(changed: Stack) -> None:
    before = state_digests(changed.engine.backend)
    preview(changed, skip=True)
    assert state_digests(changed.engine.backend) == before


def test_a_default_preview_writes_no_state_either(changed: Stack) -> None:
    before = state_digests(changed.engine.backend)
    preview(changed, skip=False)
    assert state_digests(changed.engine.backend) == before
