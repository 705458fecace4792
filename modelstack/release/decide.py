"""The release loop's decision: promote, hold, roll back or done, from analyses and the weight's age.

Pure: no I/O, no clock. `modelstack.release.loop` gathers the inputs (the catalog, the commit that set
the canary's weight, the gate's analyses) and acts on the result. Rules, in order:

1. The newest analysis failed (a threshold breached with enough requests): roll back once
   `failureLimit` analyses in a row failed, else hold and count.
2. The newest analysis is inconclusive (no data, too few requests, NaN, or Prometheus unusable): roll
   back once the weight is older than the progress deadline, else hold. Never hold forever.
3. It passed: hold until the weight's pause has elapsed; hold at an approval step (a person moves the
   canary there); otherwise promote to the next step.

A rollback always sends 100 % to the stable version (weight 0 for the canary).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from components.catalog.analysis import AnalysisSpec, promql_duration_seconds
from modelstack.release.gate import Decision, GateResult


class Action(StrEnum):
    PROMOTE = "promote"
    HOLD = "hold"
    ROLLBACK = "rollback"
    DONE = "done"
    """No canary in progress: nothing to do."""
    STOPPED = "stopped"
    """`analysis.loop: false`: the loop leaves the model alone."""


@dataclass(frozen=True)
class Analysis:
    """One gate evaluation at `at`, or the error that kept Prometheus from answering."""

    at: datetime
    result: GateResult | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.result is not None and self.result.decision is Decision.ROLLBACK

    @property
    def passed(self) -> bool:
        return self.result is not None and self.result.decision is Decision.PROMOTE

    @property
    def summary(self) -> str:
        if self.result is None:
            return f"Prometheus unusable: {self.error}"
        return self.result.reason


@dataclass(frozen=True)
class LoopDecision:
    action: Action
    weight: int
    """The canary's weight after the decision."""
    reason: str


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n) or "0s"


def consecutive_failures(analyses: tuple[Analysis, ...]) -> int:
    """Failed analyses in a row, newest first."""
    count = 0
    for analysis in analyses:
        if not analysis.failed:
            break
        count += 1
    return count


def decide(
    spec: AnalysisSpec, weight: int, applied_at: datetime, now: datetime, analyses: tuple[Analysis, ...]
) -> LoopDecision:
    """What the loop does with a canary at `weight` (set by a commit at `applied_at`), judged at `now`.

    `analyses` are newest first; the first is at `now`, the others `window` apart, none before
    `applied_at`.
    """
    if not 0 < weight < 100:
        raise ValueError(f"a canary in progress has a weight of 1–99, not {weight}")
    if not analyses:
        raise ValueError("the loop decides from at least one analysis")
    age = (now - applied_at).total_seconds()
    latest = analyses[0]
    if latest.failed:
        failures = consecutive_failures(analyses)
        if failures >= spec.failure_limit:
            in_a_row = f" ({failures} failed analyses in a row)" if spec.failure_limit > 1 else ""
            return LoopDecision(Action.ROLLBACK, 0, f"{latest.summary}{in_a_row}")
        return LoopDecision(
            Action.HOLD,
            weight,
            f"{latest.summary} — failed analysis {failures} of failureLimit {spec.failure_limit} in a row",
        )
    deadline = spec.progress_deadline_seconds
    if not latest.passed:
        if age > deadline:
            return LoopDecision(
                Action.ROLLBACK,
                0,
                f"no conclusive analysis for {_duration(age)} since weight {weight} was applied, longer "
                f"than the progress deadline {_duration(deadline)} ({latest.summary})",
            )
        return LoopDecision(
            Action.HOLD,
            weight,
            f"{latest.summary}; rollback if still inconclusive {_duration(deadline - age)} from now "
            f"(progress deadline {_duration(deadline)})",
        )
    pause = promql_duration_seconds(spec.pause_at(weight))
    if age < pause:
        return LoopDecision(
            Action.HOLD,
            weight,
            f"analysis passed; pause at weight {weight}: {_duration(age)} of {_duration(pause)} elapsed",
        )
    target = spec.next_step(weight)
    step = spec.step_at(target)
    if step is not None and step.approval:
        r = latest.result
        command = f"modelstack promote {r.model} {r.canary} --weight {target}" if r else "modelstack promote"
        return LoopDecision(
            Action.HOLD,
            weight,
            f"analysis passed; step {target} needs approval — a person promotes to it (`{command}`, reviewed)",
        )
    return LoopDecision(Action.PROMOTE, target, f"{latest.summary}; pause {_duration(pause)} elapsed")
