"""`modelstack release run` against the gate's real Prometheus (backfilled telemetry of tests/gate/series.py).

Each test is a project in a git repository of its own; the loop runs as the CLI, with the offline engine
as its apply step, evaluated at the end of the telemetry (`AT`), and its commits dated then.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.gate.series import AT, NAMESPACE
from tests.release_loop.fakes import webhook_receiver
from tests.release_loop.project import LoopProject, loop_project

pytestmark = pytest.mark.integration

AN_HOUR_AGO = AT - timedelta(hours=1)


def project(
    tmp_path: Path, name: str, *, weight: int = 10, committed_at=AN_HOUR_AGO, **analysis: object
) -> LoopProject:
    return loop_project(
        tmp_path / "repo", {name: (weight, analysis)}, namespace=NAMESPACE, committed_at=committed_at
    )


def test_healthy_canary_is_promoted_to_the_next_step_in_one_commit(
    prometheus_url: str, tmp_path: Path
) -> None:
    repo = project(tmp_path, "healthy")

    outcome = repo.outcome(repo.release("healthy", prometheus_url, AT))

    assert outcome["action"] == "promote"
    assert repo.weights("healthy") == {"v1": 50, "v2": 50}
    assert repo.rendered_weights("healthy", NAMESPACE) == {"v1": 50, "v2": 50}
    assert repo.log() == ["release(healthy): promote v2 10 → 50 [stack dev]", "base"]
    assert outcome["commit"] == repo.git("rev-parse", "HEAD")


def test_the_commit_message_holds_the_decision_and_its_evidence(prometheus_url: str, tmp_path: Path) -> None:
    repo = project(tmp_path, "healthy")

    repo.outcome(repo.release("healthy", prometheus_url, AT))
    message = repo.git("log", "-1", "--format=%B")

    assert "Decision: promote" in message
    assert "Window: 5m" in message
    assert "request-count: 3000 (min 50)" in message
    assert "p99-latency: 450 (max 800)" in message
    queries = [line for line in message.splitlines() if line.strip().startswith("query: ")]
    assert any("increase(istio_requests_total{" in q for q in queries), queries
    assert "Modelstack-Decision: promote" in message
    assert f"evaluated at {AT.isoformat().replace('+00:00', 'Z')}" in message


def test_the_apply_result_is_recorded_as_a_note_on_the_commit(prometheus_url: str, tmp_path: Path) -> None:
    repo = project(tmp_path, "healthy")

    repo.outcome(repo.release("healthy", prometheus_url, AT))

    assert "applied to stack dev: rendered" in repo.git("notes", "--ref=modelstack-release", "show", "HEAD")


def test_the_pause_counts_from_the_commit_that_set_the_weight(prometheus_url: str, tmp_path: Path) -> None:
    repo = project(tmp_path, "healthy", committed_at=AT - timedelta(minutes=2), pause="5m")

    outcome = repo.outcome(repo.release("healthy", prometheus_url, AT))

    assert outcome["action"] == "hold"
    assert "2m of 5m elapsed" in outcome["reason"]
    assert repo.log() == ["base"]


def test_a_second_run_right_after_a_promotion_waits_out_the_pause(
    prometheus_url: str, tmp_path: Path
) -> None:
    repo = project(tmp_path, "healthy")
    repo.outcome(repo.release("healthy", prometheus_url, AT))

    outcome = repo.outcome(repo.release("healthy", prometheus_url, AT + timedelta(seconds=30)))

    assert outcome["action"] == "hold"
    assert "pause at weight 50: 30s of 5m elapsed" in outcome["reason"]
    assert repo.weights("healthy") == {"v1": 50, "v2": 50}


def test_slow_canary_is_rolled_back_to_stable_and_marked_failed(prometheus_url: str, tmp_path: Path) -> None:
    repo = project(tmp_path, "slow", weight=50)

    outcome = repo.outcome(repo.release("slow", prometheus_url, AT))

    assert outcome["action"] == "rollback"
    assert repo.weights("slow") == {"v1": 100, "v2": 0}
    assert repo.rendered_weights("slow", NAMESPACE) == {"v1": 100}  # no route to a version at 0
    assert "p99-latency" in repo.catalog()["models"]["slow"]["failedCanaries"]["v2"]
    assert repo.log()[0] == "release(slow): roll back v2 50 → 0, v1 → 100 [stack dev]"


def test_a_rolled_back_canary_is_not_started_again(prometheus_url: str, tmp_path: Path) -> None:
    repo = project(tmp_path, "slow", weight=50)
    repo.outcome(repo.release("slow", prometheus_url, AT))

    outcome = repo.outcome(repo.release("slow", prometheus_url, AT + timedelta(hours=1)))

    assert outcome["action"] == "done"
    assert "failed canaries: v2" in outcome["reason"]
    assert len(repo.log()) == 2


def test_failure_limit_holds_until_that_many_analyses_in_a_row_failed(
    prometheus_url: str, tmp_path: Path
) -> None:
    # The slow canary fails in every 5-minute window of the 30 minutes of telemetry.
    repo = project(tmp_path, "slow", committed_at=AT - timedelta(minutes=7), failureLimit=3, pause="1m")

    outcome = repo.outcome(repo.release("slow", prometheus_url, AT))

    assert outcome["action"] == "hold"
    assert "failed analysis 2 of failureLimit 3 in a row" in outcome["reason"]
    assert [a["at"] for a in outcome["analyses"]] == [
        (AT - timedelta(minutes=m)).isoformat().replace("+00:00", "Z") for m in (0, 5)
    ]


def test_failure_limit_reached_rolls_back(prometheus_url: str, tmp_path: Path) -> None:
    repo = project(tmp_path, "slow", failureLimit=3)

    outcome = repo.outcome(repo.release("slow", prometheus_url, AT))

    assert outcome["action"] == "rollback"
    assert "3 failed analyses in a row" in outcome["reason"]


def test_no_data_within_the_progress_deadline_holds(prometheus_url: str, tmp_path: Path) -> None:
    repo = project(tmp_path, "idle", committed_at=AT - timedelta(minutes=10))

    outcome = repo.outcome(repo.release("idle", prometheus_url, AT))

    assert outcome["action"] == "hold"
    assert "no data" in outcome["reason"] and "progress deadline 30m" in outcome["reason"]
    assert repo.weights("idle") == {"v1": 90, "v2": 10}


def test_no_data_past_the_progress_deadline_rolls_back(prometheus_url: str, tmp_path: Path) -> None:
    repo = project(tmp_path, "idle")

    outcome = repo.outcome(repo.release("idle", prometheus_url, AT))

    assert outcome["action"] == "rollback"
    assert "longer than the progress deadline 30m" in outcome["reason"]
    assert repo.weights("idle") == {"v1": 100, "v2": 0}


def test_prometheus_unreachable_past_the_deadline_rolls_back(tmp_path: Path) -> None:
    repo = project(tmp_path, "healthy")

    outcome = repo.outcome(repo.release("healthy", "http://127.0.0.1:9", AT))

    assert outcome["action"] == "rollback"
    assert "cannot reach Prometheus" in outcome["reason"]


def test_dry_run_prints_the_commit_and_changes_nothing(prometheus_url: str, tmp_path: Path) -> None:
    repo = project(tmp_path, "healthy")
    before = (repo.root / "models.yaml").read_text(encoding="utf-8")

    outcome = repo.outcome(repo.release("healthy", prometheus_url, AT, "--dry-run"))

    assert outcome["action"] == "promote" and outcome["dryRun"] is True
    assert outcome["commitMessage"].startswith("release(healthy): promote v2 10 → 50")
    assert (repo.root / "models.yaml").read_text(encoding="utf-8") == before
    assert repo.log() == ["base"]
    assert not (repo.root / "rendered").exists()


def test_approval_step_waits_for_a_person(prometheus_url: str, tmp_path: Path) -> None:
    repo = project(tmp_path, "healthy", steps=[10, {"weight": 50, "approval": True}, 100])

    outcome = repo.outcome(repo.release("healthy", prometheus_url, AT))

    assert outcome["action"] == "hold"
    assert "step 50 needs approval" in outcome["reason"]
    assert "modelstack promote healthy v2 --weight 50" in outcome["reason"]


def test_git_revert_of_a_loop_commit_restores_the_render(prometheus_url: str, tmp_path: Path) -> None:
    repo = project(tmp_path, "healthy")
    repo.outcome(repo.release("healthy", prometheus_url, AT))

    repo.git("-c", "user.name=t", "-c", "user.email=t@t.invalid", "revert", "--no-edit", "HEAD")
    rendered = repo.run("render")

    assert rendered.returncode == 0, rendered.stderr
    assert repo.rendered_weights("healthy", NAMESPACE) == {"v1": 90, "v2": 10}


def test_uncommitted_catalog_is_refused(prometheus_url: str, tmp_path: Path) -> None:
    repo = project(tmp_path, "healthy")
    repo.edit("models.yaml", lambda text: text + "# a local edit\n")

    done = repo.release("healthy", prometheus_url, AT)

    assert done.returncode == 2
    assert "uncommitted changes" in done.stderr


def test_prometheus_and_webhooks_come_from_the_stacks_release_settings(
    prometheus_url: str, tmp_path: Path
) -> None:
    with webhook_receiver(200) as hook:
        repo = loop_project(
            tmp_path / "repo",
            {"healthy": (10, {})},
            namespace=NAMESPACE,
            committed_at=AN_HOUR_AGO,
            release={"prometheus": prometheus_url, "webhooks": [{"url": hook.url, "format": "slack"}]},
        )
        stamp = AT.isoformat()
        outcome = repo.outcome(
            repo.run("release", "run", "healthy", "--engine", "offline", "--at", stamp, "--json")
        )

    assert outcome["action"] == "promote"
    assert hook.bodies == [{"text": hook.bodies[0]["text"]}]
    assert hook.bodies[0]["text"].startswith("healthy [dev]: promote (v1 90 → 50, v2 10 → 50)")


def test_without_any_prometheus_the_run_is_a_usage_error(tmp_path: Path) -> None:
    repo = project(tmp_path, "healthy")

    done = repo.run("release", "run", "healthy", "--engine", "offline")

    assert done.returncode == 2
    assert "give --prometheus or set modelstack:release.prometheus" in done.stderr
    assert repo.log() == ["base"]
