"""The release loop's apply step under the real engine: `pulumi up` through the Automation API.

A project copy's dev stack is brought up with the CLI, then one loop run promotes llm-chat's canary
(Prometheus answering fixed healthy values, the clock an hour past the base commit so the pause is over)
and applies it with `AutomationApply` — the same program, the same stack, the harness's CLI, home and
backend. The dev stack renders into build/dev-manifests, so the files there are what the engine applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modelstack.release.apply import ApplyError, AutomationApply
from modelstack.release.decide import Action
from tests.engine.engine import RENDER_DIR, Stack, git, read_objects
from tests.release_loop.fakes import FixedPrometheus, loop_for

VIRTUAL_SERVICE = ("networking.istio.io", "VirtualService", "ml-dev", "llm-chat")


def applied_weights(project: Path) -> dict[str, int]:
    body = read_objects(project / RENDER_DIR)[VIRTUAL_SERVICE]
    routes = body["spec"]["http"][-1]["route"]
    return {r["destination"]["subset"]: r.get("weight", 0) for r in routes}


def automation(stack: Stack, **env: str) -> AutomationApply:
    return AutomationApply(pulumi=stack.engine.toolchain.pulumi, env={**stack.engine.env(), **env})


@dataclass
class WrongPassphraseFirst:
    """The engine's own failure on the first update (a wrong secrets passphrase), the real one after."""

    stack: Stack
    calls: int = 0

    def apply(self, root: Path, name: str) -> str:
        self.calls += 1
        if self.calls == 1:
            return automation(self.stack, PULUMI_CONFIG_PASSPHRASE="not-the-passphrase").apply(root, name)
        return automation(self.stack).apply(root, name)


def later() -> datetime:
    return datetime.now(tz=UTC) + timedelta(hours=1)


def test_a_promotion_is_applied_by_pulumi_up_through_the_automation_api(dev_stack: Stack) -> None:
    dev_stack.up()
    assert applied_weights(dev_stack.project) == {"v1": 90, "v2": 10}

    outcome = loop_for(dev_stack.project, FixedPrometheus(), automation(dev_stack), later()).run("llm-chat")

    assert outcome.action is Action.PROMOTE and not outcome.failed, outcome.apply
    assert outcome.apply is not None and "succeeded" in outcome.apply
    assert applied_weights(dev_stack.project) == {"v1": 50, "v2": 50}
    assert git(dev_stack.project, "log", "-1", "--format=%s").strip() == (
        "release(llm-chat): promote v2 10 → 50 [stack dev]"
    )
    history = dev_stack.run("stack", "history", "--stack", "dev", "--json").stdout
    assert "modelstack release run" in history


def test_a_failed_pulumi_up_is_reverted_and_the_previous_catalog_applied_again(dev_stack: Stack) -> None:
    dev_stack.up()
    catalog = (dev_stack.project / "models.yaml").read_text(encoding="utf-8")
    applier = WrongPassphraseFirst(dev_stack)

    outcome = loop_for(dev_stack.project, FixedPrometheus(), applier, later()).run("llm-chat")

    assert outcome.failed and applier.calls == 2
    assert "re-applied" in (outcome.apply or ""), outcome.apply
    assert (dev_stack.project / "models.yaml").read_text(encoding="utf-8") == catalog
    assert applied_weights(dev_stack.project) == {"v1": 90, "v2": 10}
    subjects = git(dev_stack.project, "log", "--format=%s").splitlines()
    assert subjects[:2] == [
        "release(llm-chat): revert promote — pulumi up failed [stack dev]",
        "release(llm-chat): promote v2 10 → 50 [stack dev]",
    ]


def test_apply_error_carries_the_engine_output(dev_stack: Stack) -> None:
    failing = automation(dev_stack, PULUMI_CONFIG_PASSPHRASE="not-the-passphrase")

    with pytest.raises(ApplyError, match=r"(?i)passphrase"):
        failing.apply(dev_stack.project, "dev")
