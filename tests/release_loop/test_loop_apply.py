"""The loop's commit and apply: a failed apply reverts its own commit; notifications never block."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from modelstack.release.decide import Action
from modelstack.release.notify import Notifier, Webhook
from tests.release_loop.fakes import FixedPrometheus, RecordingApply, loop_for, webhook_receiver
from tests.release_loop.project import LoopProject, loop_project

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def project(tmp_path: Path, weight: int = 20, age: timedelta = timedelta(hours=1)) -> LoopProject:
    analysis = {"steps": [20, 50, 100], "pause": "5m"}
    return loop_project(
        tmp_path / "repo", {"m": (weight, analysis)}, namespace="ml-dev", committed_at=NOW - age
    )


def test_a_failed_apply_reverts_the_loops_commit_and_applies_the_previous_catalog(tmp_path: Path) -> None:
    repo = project(tmp_path)
    before = (repo.root / "models.yaml").read_text(encoding="utf-8")
    applier = RecordingApply(failures=1)

    outcome = loop_for(repo.root, FixedPrometheus(), applier, NOW).run("m")

    assert outcome.action is Action.PROMOTE and outcome.failed
    assert (repo.root / "models.yaml").read_text(encoding="utf-8") == before
    assert repo.log() == [
        "release(m): revert promote — pulumi up failed [stack dev]",
        "release(m): promote v2 20 → 50 [stack dev]",
        "base",
    ]
    assert applier.seen[1] == before  # the second apply restored what the stack ran before
    assert "reverted by" in (outcome.apply or "") and "re-applied" in (outcome.apply or "")


def test_the_revert_and_the_failure_are_recorded_in_the_commits(tmp_path: Path) -> None:
    repo = project(tmp_path)

    outcome = loop_for(repo.root, FixedPrometheus(), RecordingApply(failures=1), NOW).run("m")

    assert f"This reverts commit {outcome.commit}" in repo.git("log", "-1", "--format=%B")
    assert "failed; reverted by" in repo.git(
        "notes", "--ref=modelstack-release", "show", outcome.commit or ""
    )


def test_a_failed_re_apply_says_pulumi_up_must_be_run_by_hand(tmp_path: Path) -> None:
    repo = project(tmp_path)

    outcome = loop_for(repo.root, FixedPrometheus(), RecordingApply(failures=2), NOW).run("m")

    assert outcome.failed
    assert "run `pulumi up` by hand" in (outcome.apply or "")


def test_the_stack_sees_the_committed_catalog(tmp_path: Path) -> None:
    repo = project(tmp_path)
    applier = RecordingApply()

    outcome = loop_for(repo.root, FixedPrometheus(), applier, NOW).run("m")

    assert applier.seen == [repo.git("show", f"{outcome.commit}:models.yaml") + "\n"]
    assert repo.weights("m") == {"v1": 50, "v2": 50}


def test_a_hold_commits_and_applies_nothing(tmp_path: Path) -> None:
    repo = project(tmp_path, age=timedelta(minutes=10))
    applier = RecordingApply()

    outcome = loop_for(repo.root, FixedPrometheus(requests=3), applier, NOW).run("m")

    assert outcome.action is Action.HOLD
    assert applier.seen == [] and repo.log() == ["base"]


def test_every_decision_is_posted_to_the_webhooks(tmp_path: Path) -> None:
    repo = project(tmp_path)
    with webhook_receiver(200) as generic, webhook_receiver(200) as slack:
        hooks = (Webhook(generic.url), Webhook(slack.url, "slack"))
        outcome = loop_for(repo.root, FixedPrometheus(), RecordingApply(), NOW, Notifier(hooks)).run("m")

    assert [d.delivered for d in outcome.notifications] == [True, True]
    (event,) = generic.bodies
    assert event["action"] == "promote" and event["commit"] == outcome.commit
    assert event["weightsAfter"] == {"v1": 50, "v2": 50}
    assert slack.bodies == [{"text": event["headline"]}]


def test_a_failing_webhook_never_blocks_a_rollback(tmp_path: Path) -> None:
    repo = project(tmp_path)
    with webhook_receiver(503) as failing:
        notifier = Notifier(
            (Webhook(failing.url), Webhook("http://127.0.0.1:9/down")), attempts=3, backoff_s=0.01
        )
        outcome = loop_for(repo.root, FixedPrometheus(p99_ms=2000), RecordingApply(), NOW, notifier).run("m")

    assert outcome.action is Action.ROLLBACK and not outcome.failed
    assert repo.weights("m") == {"v1": 100, "v2": 0}
    assert [(d.delivered, d.attempts) for d in outcome.notifications] == [(False, 3), (False, 3)]
    assert len(failing.bodies) == 3


def test_webhook_retries_stop_at_the_deadline(tmp_path: Path) -> None:
    with webhook_receiver(503, delay_s=0.3) as slow:
        notifier = Notifier((Webhook(slow.url),), attempts=50, deadline_s=1.0, timeout_s=0.5, backoff_s=0.05)
        started = time.monotonic()
        (delivery,) = notifier.send({"action": "rollback"}, "m: rollback")
        elapsed = time.monotonic() - started

    assert not delivery.delivered
    assert "gave up after 1 s" in delivery.detail
    assert elapsed < 2.0
    assert 1 <= delivery.attempts < 50


def test_webhook_is_retried_after_a_server_error_and_not_after_a_client_error() -> None:
    with webhook_receiver(502, 200) as flaky, webhook_receiver(400) as refusing:
        notifier = Notifier((Webhook(flaky.url), Webhook(refusing.url)), backoff_s=0.01)
        retried, refused = notifier.send({"action": "hold"}, "m: hold")

    assert (retried.delivered, retried.attempts) == (True, 2)
    assert (refused.delivered, refused.attempts, refused.detail) == (False, 1, "HTTP 400")
