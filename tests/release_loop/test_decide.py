"""The release loop's decision as a state machine: properties over every analysis history and clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from components.catalog.analysis import AnalysisSpec, Step, promql_duration_seconds
from modelstack.release.decide import Action, Analysis, consecutive_failures, decide
from modelstack.release.gate import Decision, GateResult

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
SPEC = AnalysisSpec(steps=(Step(weight=20), Step(weight=50), Step(weight=100)), pause="5m", failure_limit=2)

# What the gate can say (or Prometheus not answering at all).
KINDS = ("promote", "hold", "rollback", "error")


def analysis(kind: str, at: datetime = NOW, weight: int = 20) -> Analysis:
    if kind == "error":
        return Analysis(at, error="cannot reach Prometheus")
    decision = Decision(kind)
    result = GateResult(
        model="m",
        namespace="ns",
        canary="v2",
        stable="v1",
        current_weight=weight,
        decision=decision,
        next_weight={"promote": 50, "hold": weight, "rollback": 0}[kind],
        reason=f"gate says {kind}",
        checks=(),
        evaluated_at=at,
    )
    return Analysis(at, result=result)


specs = st.builds(
    AnalysisSpec,
    steps=st.sampled_from(
        [
            (Step(weight=20), Step(weight=50), Step(weight=100)),
            (Step(weight=10), Step(weight=50, approval=True), Step(weight=100)),
            (Step(weight=5, pause="0s"), Step(weight=100, pause="1h")),
        ]
    ),
    pause=st.sampled_from(["0s", "1m", "5m"]),
    failure_limit=st.integers(1, 4),
)
weights = st.integers(1, 99)
ages = st.integers(0, 4 * 3600).map(lambda s: timedelta(seconds=s))
histories = st.lists(st.sampled_from(KINDS), min_size=1, max_size=5).map(
    lambda kinds: tuple(analysis(k) for k in kinds)
)


@given(specs, weights, ages, histories)
def test_never_promotes_without_a_passing_analysis_at_the_evaluation_time(spec, weight, age, history) -> None:
    decision = decide(spec, weight, NOW - age, NOW, history)

    if decision.action is Action.PROMOTE:
        assert history[0].passed


@given(specs, weights, ages, histories)
def test_a_promotion_goes_to_the_next_step_and_only_up(spec, weight, age, history) -> None:
    decision = decide(spec, weight, NOW - age, NOW, history)

    if decision.action is Action.PROMOTE:
        assert decision.weight == spec.next_step(weight) > weight
        step = spec.step_at(decision.weight)
        assert step is None or not step.approval


@given(specs, weights, ages, histories)
def test_a_rollback_always_leaves_the_canary_at_zero(spec, weight, age, history) -> None:
    decision = decide(spec, weight, NOW - age, NOW, history)

    if decision.action is Action.ROLLBACK:
        assert decision.weight == 0


@given(specs, weights, ages, histories)
def test_a_hold_keeps_the_weight(spec, weight, age, history) -> None:
    decision = decide(spec, weight, NOW - age, NOW, history)

    assert decision.action in (Action.PROMOTE, Action.HOLD, Action.ROLLBACK)
    if decision.action is Action.HOLD:
        assert decision.weight == weight


@given(specs, weights, ages, histories)
def test_never_promotes_before_the_pause_of_the_weight_elapsed(spec, weight, age, history) -> None:
    decision = decide(spec, weight, NOW - age, NOW, history)

    if age.total_seconds() < promql_duration_seconds(spec.pause_at(weight)):
        assert decision.action is not Action.PROMOTE


@given(specs, weights, ages, st.sampled_from(["hold", "error"]))
def test_inconclusive_past_the_progress_deadline_rolls_back_never_holds(spec, weight, age, kind) -> None:
    decision = decide(spec, weight, NOW - age, NOW, (analysis(kind),))

    past = age.total_seconds() > spec.progress_deadline_seconds
    assert decision.action is (Action.ROLLBACK if past else Action.HOLD)


@given(specs, weights, ages, histories)
def test_failed_analyses_in_a_row_up_to_the_limit_roll_back(spec, weight, age, history) -> None:
    decision = decide(spec, weight, NOW - age, NOW, history)

    if consecutive_failures(history) >= spec.failure_limit:
        assert decision.action is Action.ROLLBACK
    elif history[0].failed:
        assert decision.action is Action.HOLD


def test_a_passing_canary_past_its_pause_is_promoted() -> None:
    decision = decide(SPEC, 20, NOW - timedelta(minutes=6), NOW, (analysis("promote"),))

    assert (decision.action, decision.weight) == (Action.PROMOTE, 50)


def test_a_step_pause_overrides_the_block_pause() -> None:
    spec = AnalysisSpec(steps=(Step(weight=20, pause="1h"), Step(weight=100)), pause="1m")

    decision = decide(spec, 20, NOW - timedelta(minutes=30), NOW, (analysis("promote"),))

    assert decision.action is Action.HOLD
    assert "30m of 1h elapsed" in decision.reason


def test_the_default_progress_deadline_outlasts_a_long_pause() -> None:
    spec = AnalysisSpec(pause="1h")

    assert spec.progress_deadline_seconds == 7200
