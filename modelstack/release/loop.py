"""`modelstack release run`: one evaluation of a model's canary, and the commit that acts on it.

One call: read the catalog and the commit that set the canary's weight, ask Prometheus (the gate), decide
(`modelstack.release.decide`), and for a promotion or a rollback write the catalog, commit it with the
decision and its evidence, apply it to the stack, and note the result on the commit
(`git notes --ref=modelstack-release`). A failed apply reverts the loop's own commit, applies the
reverted catalog again and says so; the catalog, the git tree and the stack are never left half changed.
Holds change nothing and commit nothing. Webhooks hear of every decision after it is applied, so a
failing webhook never delays a rollback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from components.catalog.analysis import AnalysisSpec, promql_duration_seconds
from components.catalog.model import ModelSpec
from components.catalog.stack_config import StackConfig
from modelstack.release.apply import Applier, ApplyError
from modelstack.release.decide import Action, Analysis, LoopDecision, decide
from modelstack.release.edits import (
    Edit,
    ReleaseError,
    plan_failed_rollback,
    plan_weight,
    validate_text,
    write_atomically,
)
from modelstack.release.gate import PrometheusClient, PrometheusError, evaluate_gate
from modelstack.release.history import Applied, Repo, weights_applied
from modelstack.release.notify import Delivery, Notifier

NOTES_REF = "modelstack-release"
TRAILER_MODEL = "Modelstack-Release"


def pick_canary(model: ModelSpec) -> str | None:
    """The version in progress: weight strictly between 0 and 100, not failed; lowest weight, then newest."""
    candidates = [
        (v.weight, -i, name)
        for i, (name, v) in enumerate(model.versions.items())
        if 0 < v.weight < 100 and name not in model.failed_canaries
    ]
    return min(candidates)[2] if candidates else None


def pick_stable(model: ModelSpec, canary: str) -> str:
    """The highest weight besides the canary; ties to the version listed first (the oldest)."""
    return min((-v.weight, i, n) for i, (n, v) in enumerate(model.versions.items()) if n != canary)[2]


@dataclass(frozen=True)
class Outcome:
    """What one run decided and did, for the report, the JSON output and the webhooks."""

    model: str
    stack: str
    action: Action
    reason: str
    canary: str | None = None
    stable: str | None = None
    before: Mapping[str, int] = field(default_factory=dict)
    after: Mapping[str, int] = field(default_factory=dict)
    applied_commit: str | None = None
    """The commit that set the weights the decision started from."""
    applied_at: datetime | None = None
    evaluated_at: datetime | None = None
    analyses: tuple[Analysis, ...] = ()
    commit: str | None = None
    """The loop's commit (None for a hold, done, stopped or a dry run)."""
    message: str | None = None
    """The commit message (also for a dry run: what would be committed)."""
    apply: str | None = None
    """The stack update's summary, or why it failed."""
    reverted: str | None = None
    """The revert commit, when the apply failed."""
    dry_run: bool = False
    notifications: tuple[Delivery, ...] = ()

    @property
    def failed(self) -> bool:
        return self.reverted is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "stack": self.stack,
            "action": self.action.value,
            "reason": self.reason,
            "canary": self.canary,
            "stable": self.stable,
            "weightsBefore": dict(self.before),
            "weightsAfter": dict(self.after),
            "weightAppliedBy": self.applied_commit,
            "weightAppliedAt": _iso(self.applied_at),
            "evaluatedAt": _iso(self.evaluated_at),
            "analyses": [
                {"at": _iso(a.at), "error": a.error, "result": a.result.to_dict() if a.result else None}
                for a in self.analyses
            ],
            "commit": self.commit,
            "apply": self.apply,
            "applyFailed": self.failed,
            "reverted": self.reverted,
            "dryRun": self.dry_run,
        }


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None


@dataclass(frozen=True)
class Loop:
    """Everything one run needs; the clock, Prometheus, the applier and the notifier are injected."""

    root: Path
    stack: str
    config: StackConfig
    catalog: Path
    models: Mapping[str, ModelSpec]
    prometheus: PrometheusClient
    applier: Applier
    notifier: Notifier | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(tz=UTC)
    date_commits: bool = False
    """Date the loop's commits at the clock's time (tests run on a fake clock); default: git's own."""

    def run(self, model_name: str, *, dry_run: bool = False) -> Outcome:
        model = self.models.get(model_name)
        if model is None:
            raise ReleaseError(
                f"model {model_name!r} is not in the catalog (models: {', '.join(self.models)})"
            )
        spec = model.analysis or AnalysisSpec()
        weights = {n: v.weight for n, v in model.versions.items()}
        base = Outcome(
            model=model_name,
            stack=self.stack,
            action=Action.STOPPED,
            reason="analysis.loop is false",
            before=weights,
            after=weights,
            dry_run=dry_run,
        )
        if not spec.loop:
            return self._finish(base)
        canary = pick_canary(model)
        if canary is None:
            failed = ", ".join(f"{v} ({why})" for v, why in model.failed_canaries.items())
            reason = "no canary in progress (no version between 0 and 100)" + (
                f"; failed canaries: {failed}" if failed else ""
            )
            return self._finish(_replace(base, action=Action.DONE, reason=reason), notify=False)
        stable = pick_stable(model, canary)
        repo = Repo.containing(self.catalog)
        if not repo.is_clean(self.catalog):
            raise ReleaseError(
                f"{repo.relative(self.catalog)} has uncommitted changes — the loop decides from committed "
                "state only; commit or stash them"
            )
        applied = weights_applied(repo, self.catalog, model_name, weights)
        now = self.clock()
        analyses = self._analyses(
            model=model_name,
            spec=spec,
            canary=canary,
            stable=stable,
            weight=weights[canary],
            applied=applied,
            now=now,
        )
        decision = decide(spec, weights[canary], applied.at, now, analyses)
        outcome = _replace(
            base,
            action=decision.action,
            reason=decision.reason,
            canary=canary,
            stable=stable,
            applied_commit=applied.commit,
            applied_at=applied.at,
            evaluated_at=now,
            analyses=analyses,
        )
        if decision.action not in (Action.PROMOTE, Action.ROLLBACK):
            return self._finish(outcome)
        return self._finish(self._act(repo, outcome, decision, spec))

    # --- measuring ----------------------------------------------------------------------------------

    def _analyses(
        self,
        *,
        model: str,
        spec: AnalysisSpec,
        canary: str,
        stable: str,
        weight: int,
        applied: Applied,
        now: datetime,
    ) -> tuple[Analysis, ...]:
        """The analysis at `now`, then while they keep failing (failureLimit > 1) one `window` earlier each,
        never earlier than the commit that set the weight."""
        step = timedelta(seconds=promql_duration_seconds(spec.window))
        out: list[Analysis] = []
        at = now
        while len(out) < spec.failure_limit and (not out or at >= applied.at):
            try:
                result = evaluate_gate(
                    model, spec, canary, stable, weight, self.config.namespace, self.prometheus, at=at
                )
                analysis = Analysis(at, result=result)
            except PrometheusError as err:
                analysis = Analysis(at, error=str(err))
            out.append(analysis)
            if not analysis.failed:
                break
            at -= step
        return tuple(out)

    # --- acting -------------------------------------------------------------------------------------

    def _act(self, repo: Repo, outcome: Outcome, decision: LoopDecision, spec: AnalysisSpec) -> Outcome:
        text = self.catalog.read_text(encoding="utf-8")
        assert outcome.canary is not None and outcome.stable is not None
        edit = self._edit(text, outcome, decision)
        validate_text(edit.text, self.catalog, [self.config])
        message = commit_message(outcome, decision, edit, spec)
        planned = _replace(outcome, after=edit.after, message=message)
        if outcome.dry_run:
            return planned
        when = outcome.evaluated_at if self.date_commits else None
        write_atomically(self.catalog, edit.text)
        try:
            commit = repo.commit(self.catalog, message, when)
        except Exception:
            write_atomically(self.catalog, text)  # the commit failed: nothing may stay half changed
            raise
        try:
            summary = self.applier.apply(self.root, self.stack)
        except ApplyError as err:
            return self._revert(repo, _replace(planned, commit=commit), str(err), when)
        repo.add_note(commit, f"applied to stack {self.stack}: {summary}", NOTES_REF)
        return _replace(planned, commit=commit, apply=summary)

    def _edit(self, text: str, outcome: Outcome, decision: LoopDecision) -> Edit:
        assert outcome.canary is not None and outcome.stable is not None
        if decision.action is Action.ROLLBACK:
            when = _iso(outcome.evaluated_at)
            return plan_failed_rollback(
                text, outcome.model, outcome.canary, outcome.stable, f"{when} {decision.reason}"
            )
        return plan_weight(text, outcome.model, outcome.canary, decision.weight)

    def _revert(self, repo: Repo, outcome: Outcome, error: str, when: datetime | None) -> Outcome:
        assert outcome.commit is not None
        first_line = _error_line(error)
        message = (
            f"release({outcome.model}): revert {outcome.action.value} — pulumi up failed [stack {self.stack}]\n\n"
            f"This reverts commit {outcome.commit}: applying it to stack {self.stack} failed, so the "
            f"catalog returns to what the stack ran before.\n\nError: {first_line[:500]}\n\n"
            f"{TRAILER_MODEL}: {outcome.model}\nModelstack-Stack: {self.stack}\nModelstack-Decision: revert\n"
        )
        reverted = repo.revert(outcome.commit, message, when)
        repo.add_note(
            outcome.commit,
            f"apply to stack {self.stack} failed; reverted by {reverted}: {error[:2000]}",
            NOTES_REF,
        )
        try:
            restored = self.applier.apply(self.root, self.stack)
            detail = f"apply failed: {first_line}; reverted by {reverted[:12]} and re-applied ({restored})"
        except ApplyError as again:
            detail = (
                f"apply failed: {first_line}; reverted by {reverted[:12]}, but re-applying the reverted catalog "
                f"failed too: {_error_line(str(again))} — run `pulumi up` by hand"
            )
        repo.add_note(reverted, detail, NOTES_REF)
        return _replace(outcome, apply=detail, reverted=reverted, after=outcome.before)

    def _finish(self, outcome: Outcome, *, notify: bool = True) -> Outcome:
        if self.notifier is None or not notify or outcome.dry_run:
            return outcome
        deliveries = self.notifier.send(outcome.to_dict(), headline(outcome))
        return _replace(outcome, notifications=tuple(deliveries))


def _error_line(error: str) -> str:
    """The line of an engine's output that says what went wrong (its first `error:` line), else the first."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    if not lines:
        return "no output"
    return next((line for line in lines if "error:" in line.lower()), lines[0])[:500]


def _replace(outcome: Outcome, **changes: Any) -> Outcome:
    return replace(outcome, **changes)


# --- the commit -----------------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "no data" if value is None else f"{value:.4g}"


def headline(outcome: Outcome) -> str:
    moved = ", ".join(
        f"{v} {outcome.before.get(v)} → {w}" for v, w in outcome.after.items() if outcome.before.get(v) != w
    )
    verb = outcome.action.value
    if outcome.failed:
        verb += " FAILED (reverted)"
    return (
        f"{outcome.model} [{outcome.stack}]: {verb}"
        + (f" ({moved})" if moved else "")
        + f" — {outcome.reason}"
    )


def commit_message(outcome: Outcome, decision: LoopDecision, edit: Edit, spec: AnalysisSpec) -> str:
    """The loop's commit: a subject, the decision with its evidence, and trailers a script can read."""
    assert outcome.canary is not None
    before, after = edit.before[outcome.canary], edit.after[outcome.canary]
    subject = (
        f"release({outcome.model}): promote {outcome.canary} {before} → {after} [stack {outcome.stack}]"
        if decision.action is Action.PROMOTE
        else f"release({outcome.model}): roll back {outcome.canary} {before} → 0, {outcome.stable} → 100 "
        f"[stack {outcome.stack}]"
    )
    applied = outcome.applied_at.isoformat() if outcome.applied_at else "?"
    lines = [
        subject,
        "",
        f"Decision: {decision.action.value} — {decision.reason}",
        f"Weights: {', '.join(f'{v} {edit.before[v]} → {w}' for v, w in edit.after.items())}",
        f"Canary: {outcome.canary}; stable: {outcome.stable}",
        f"Weight {before} set by {(outcome.applied_commit or '?')[:12]} at {applied}; evaluated at "
        f"{_iso(outcome.evaluated_at)}",
        f"Window: {spec.window}; pause {spec.pause_at(before)}; failureLimit {spec.failure_limit}; "
        f"progressDeadline {spec.progress_deadline or f'{spec.progress_deadline_seconds:g}s (default)'}",
    ]
    if decision.action is Action.ROLLBACK:
        lines.append(f"Marked failed: failedCanaries.{outcome.canary} (the loop will not start it again)")
    for analysis in outcome.analyses:
        lines += ["", f"Analysis at {_iso(analysis.at)}: {analysis.summary}"]
        for check in analysis.result.checks if analysis.result else ():
            bounds = " ".join(
                part
                for part in (
                    f"min {_fmt(check.min)}" if check.min is not None else "",
                    f"max {_fmt(check.max)}" if check.max is not None else "",
                )
                if part
            )
            lines.append(
                f"  {check.status.value:<12} {check.name}: {_fmt(check.value)} ({bounds}) — {check.reason}"
            )
            lines.append(f"    query: {check.query}")
    lines += [
        "",
        f"{TRAILER_MODEL}: {outcome.model}",
        f"Modelstack-Stack: {outcome.stack}",
        f"Modelstack-Decision: {decision.action.value}",
        f"Modelstack-Canary: {outcome.canary} {before} -> {after}",
    ]
    return "\n".join(lines) + "\n"
