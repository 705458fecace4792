"""The metric gate: promote, hold or roll back a canary from what Prometheus measured.

Rules, in order (they follow the no-data complaints against Flagger and Argo Rollouts):
1. Too few canary requests in the window (or no data for the count) → **hold**: a handful of requests
   proves nothing either way, so nothing else is judged yet.
2. Any check that has data and breaches its threshold → **rollback**.
3. Any check without data, or with NaN/±Inf (empty vector, 0/0 rates) → **hold**, never promote.
4. Everything passes → **promote** to the next of `analysis.steps` after the current weight.

Exit codes of `modelstack gate` (see `EXIT_CODES`): promote 0, hold 10, rollback 11, error 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import requests

from components.autoscaling import queries
from components.catalog.analysis import AnalysisSpec, CustomMetric, render_query
from components.naming import version_object_name
from components.quality.golden import GOLDEN_ACCURACY_METRIC, GOLDEN_CONFIDENCE_METRIC


class Decision(StrEnum):
    PROMOTE = "promote"
    HOLD = "hold"
    ROLLBACK = "rollback"


EXIT_CODES: Mapping[Decision, int] = {Decision.PROMOTE: 0, Decision.HOLD: 10, Decision.ROLLBACK: 11}
EXIT_ERROR = 1


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class PrometheusError(RuntimeError):
    """Prometheus could not answer (unreachable, HTTP error, bad query): the gate cannot decide."""


@dataclass(frozen=True)
class Sample:
    labels: Mapping[str, str]
    value: float


class PrometheusClient:
    """Instant queries against the Prometheus HTTP API (`/api/v1/query`)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = session or requests.Session()

    def query(self, promql: str, at: datetime | None = None) -> list[Sample]:
        """Evaluate `promql` at `at` (default: now). Scalars come back as one sample without labels."""
        params = {"query": promql}
        if at is not None:
            # A fixed evaluation time makes the gate reproducible (and the tests deterministic).
            params["time"] = f"{at.timestamp():.3f}"
        try:
            response = self._session.get(f"{self.base_url}/api/v1/query", params=params, timeout=self.timeout)
        except requests.Timeout as err:
            raise PrometheusError(
                f"Prometheus at {self.base_url} did not answer within {self.timeout:g} s"
            ) from err
        except requests.ConnectionError as err:
            raise PrometheusError(f"cannot reach Prometheus at {self.base_url} ({_root_cause(err)})") from err
        except requests.RequestException as err:
            raise PrometheusError(f"query to Prometheus at {self.base_url} failed: {err}") from err
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or payload.get("status") != "success":
            detail = payload.get("error") if isinstance(payload, dict) else response.text[:200]
            raise PrometheusError(f"Prometheus answered HTTP {response.status_code} for {promql!r}: {detail}")
        return _samples(payload["data"])

    def ready(self) -> bool:
        """Whether Prometheus reports itself ready to serve queries."""
        try:
            return self._session.get(f"{self.base_url}/-/ready", timeout=self.timeout).status_code == 200
        except requests.RequestException:
            return False


def _root_cause(err: BaseException) -> str:
    # requests nests urllib3's errors (and their long URL-encoded query) several levels deep.
    cause: BaseException | None = err
    while cause is not None:
        err, cause = cause, cause.__cause__ or cause.__context__
    return str(err) or type(err).__name__


def _samples(data: Mapping[str, Any]) -> list[Sample]:
    kind, result = data.get("resultType"), data["result"]
    if kind == "vector":
        return [Sample(dict(item.get("metric", {})), float(item["value"][1])) for item in result]
    if kind == "scalar":
        return [Sample({}, float(result[1]))]
    raise PrometheusError(f"expected an instant vector or scalar, Prometheus returned a {kind}")


@dataclass(frozen=True)
class CheckResult:
    """One measurement: what was asked, what came back, the bounds and the verdict with its reason."""

    name: str
    query: str
    value: float | None
    status: Status
    reason: str
    max: float | None = None
    min: float | None = None


@dataclass(frozen=True)
class GateResult:
    model: str
    namespace: str
    canary: str
    stable: str
    current_weight: int
    decision: Decision
    next_weight: int | None
    """The canary's weight after this decision: the next step (promote), unchanged (hold) or 0 (rollback)."""
    reason: str
    checks: tuple[CheckResult, ...]
    evaluated_at: datetime | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["evaluated_at"] = self.evaluated_at.isoformat() if self.evaluated_at else None
        out["checks"] = [
            {**asdict(c), "value": c.value if c.value is None or math.isfinite(c.value) else str(c.value)}
            for c in self.checks
        ]
        return out


# --- built-in queries (Istio destination-side telemetry of the canary's workload) -----------------------
# The same strings the model's alerts are written with (components/autoscaling/queries.py): a canary is
# rolled back for exactly what would page someone once it is stable.


def request_count_query(namespace: str, workload: str, window: str) -> str:
    return queries.request_count(namespace, workload, window)


def p99_latency_query(namespace: str, workload: str, window: str) -> str:
    return queries.p99_latency_ms(namespace, workload, window)


def error_rate_query(namespace: str, workload: str, window: str) -> str:
    return queries.error_rate_percent(namespace, workload, window)


# --- golden-set quality (series of the golden-set evaluator, components/quality/golden.py) ----------


def golden_query(metric: str, namespace: str, model: str, version: str, window: str) -> str:
    # last_over_time: the evaluator exports a gauge per round; the newest value in the window counts.
    selector = f'namespace="{namespace}",model="{model}",version="{version}"'
    return f"max(last_over_time({metric}{{{selector}}}[{window}]))"


def accuracy_drop_query(namespace: str, model: str, canary: str, stable: str, window: str) -> str:
    """Relative drop in percent: 100 × (1 − canary / stable); negative when the canary is better."""
    c = golden_query(GOLDEN_ACCURACY_METRIC, namespace, model, canary, window)
    s = golden_query(GOLDEN_ACCURACY_METRIC, namespace, model, stable, window)
    return f"100 * (1 - {c} / {s})"


def confidence_drift_query(namespace: str, model: str, canary: str, stable: str, window: str) -> str:
    c = golden_query(GOLDEN_CONFIDENCE_METRIC, namespace, model, canary, window)
    s = golden_query(GOLDEN_CONFIDENCE_METRIC, namespace, model, stable, window)
    return f"abs({c} - {s})"


# --- checks ---------------------------------------------------------------------------------------------


def _measure(
    name: str, query: str, samples: list[Sample], *, max_: float | None, min_: float | None
) -> CheckResult:
    """Judge a result against its bounds; with several series the worst one counts."""

    def result(value: float | None, status: Status, reason: str) -> CheckResult:
        return CheckResult(name, query, value, status, reason, max=max_, min=min_)

    if not samples:
        return result(None, Status.INCONCLUSIVE, "no data (empty result — no traffic or no series)")
    values = [s.value for s in samples]
    odd = next((v for v in values if not math.isfinite(v)), None)
    if odd is not None:
        return result(odd, Status.INCONCLUSIVE, f"{odd} is not a measurement (0/0 rate or empty histogram)")
    if max_ is not None and max(values) > max_:
        return result(max(values), Status.FAIL, f"{_fmt(max(values))} > max {_fmt(max_)}")
    if min_ is not None and min(values) < min_:
        return result(min(values), Status.FAIL, f"{_fmt(min(values))} < min {_fmt(min_)}")
    worst = max(values) if max_ is not None else min(values)
    return result(worst, Status.PASS, f"{_fmt(worst)} within {_bounds(max_, min_)}")


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _bounds(max_: float | None, min_: float | None) -> str:
    parts = ([f"min {_fmt(min_)}"] if min_ is not None else []) + (
        [f"max {_fmt(max_)}"] if max_ is not None else []
    )
    return " and ".join(parts)


def _request_count(name: str, query: str, samples: list[Sample], min_requests: int) -> CheckResult:
    checked = _measure(name, query, samples, max_=None, min_=float(min_requests))
    if checked.status is Status.FAIL:
        # Too little traffic is not a fault of the canary: wait for more rather than roll back.
        return CheckResult(
            name,
            query,
            checked.value,
            Status.INCONCLUSIVE,
            f"only {_fmt(checked.value or 0)} requests < minRequests {min_requests}",
            min=checked.min,
        )
    return checked


def _custom(metric: CustomMetric, query: str, samples: list[Sample]) -> CheckResult:
    return _measure(metric.name, query, samples, max_=metric.max, min_=metric.min)


# --- the gate -------------------------------------------------------------------------------------------


def evaluate_gate(  # noqa: PLR0917 — the positional signature is the agreed interface
    model_name: str,
    analysis: AnalysisSpec,
    canary: str,
    stable: str,
    current_weight: int,
    namespace: str,
    prometheus: PrometheusClient,
    *,
    at: datetime | None = None,
) -> GateResult:
    """Measure the canary `<model>-<canary>` and decide; raises PrometheusError when a query fails."""
    if not 0 <= current_weight < 100:
        raise ValueError(f"a canary's current weight is 0–99, not {current_weight}")
    workload = version_object_name(model_name, canary)
    window = analysis.window

    def run(query: str) -> list[Sample]:
        return prometheus.query(query, at)

    count_q = request_count_query(namespace, workload, window)
    count = _request_count("request-count", count_q, run(count_q), analysis.min_requests)
    p99_q = p99_latency_query(namespace, workload, window)
    err_q = error_rate_query(namespace, workload, window)
    checks = [
        count,
        _measure("p99-latency", p99_q, run(p99_q), max_=analysis.p99_latency_ms, min_=None),
        _measure("error-rate", err_q, run(err_q), max_=analysis.error_rate_percent, min_=None),
    ]
    if analysis.accuracy_drop_percent is not None:
        acc_q = accuracy_drop_query(namespace, model_name, canary, stable, window)
        checks.append(
            _measure("accuracy-drop", acc_q, run(acc_q), max_=analysis.accuracy_drop_percent, min_=None)
        )
    if analysis.confidence_drift is not None:
        conf_q = confidence_drift_query(namespace, model_name, canary, stable, window)
        checks.append(
            _measure("confidence-drift", conf_q, run(conf_q), max_=analysis.confidence_drift, min_=None)
        )
    for metric in analysis.metrics:
        query = render_query(
            metric.query, namespace=namespace, model=model_name, canary=canary, stable=stable, window=window
        )
        checks.append(_custom(metric, query, run(query)))

    decision, next_weight, reason = _decide(checks, count, analysis, current_weight)
    return GateResult(
        model=model_name,
        namespace=namespace,
        canary=canary,
        stable=stable,
        current_weight=current_weight,
        decision=decision,
        next_weight=next_weight,
        reason=reason,
        checks=tuple(checks),
        evaluated_at=at,
    )


def _decide(
    checks: list[CheckResult], count: CheckResult, analysis: AnalysisSpec, current_weight: int
) -> tuple[Decision, int | None, str]:
    failed = [c for c in checks if c.status is Status.FAIL]
    unknown = [c for c in checks if c.status is Status.INCONCLUSIVE]
    if count.status is not Status.PASS:
        suffix = f"; not judged yet: {_summary(failed)}" if failed else ""
        return Decision.HOLD, current_weight, f"inconclusive: request-count {count.reason}{suffix}"
    if failed:
        return Decision.ROLLBACK, 0, f"threshold breached: {_summary(failed)}"
    if unknown:
        return Decision.HOLD, current_weight, f"inconclusive: {_summary(unknown)}"
    step = analysis.next_step(current_weight)
    return Decision.PROMOTE, step, f"all {len(checks)} checks passed; weight {current_weight} → {step}"


def _summary(checks: list[CheckResult]) -> str:
    return "; ".join(f"{c.name} {c.reason}" for c in checks)
