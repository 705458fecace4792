"""A model's `analysis:` block: the canary thresholds that `modelstack gate` and the alerting rules share.

One definition is read by both, so a canary is rolled back for exactly what would page someone later.
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from components.catalog.base import DnsLabel, PoolName, RelativePath, StrictModel
from components.catalog.patterns import Pattern, excerpt, matching

# PromQL durations: units from largest to smallest, each at most once (Prometheus rejects "30s5m").
PROMQL_DURATION = Pattern(
    r"(?:(?P<y>[0-9]+)y)?(?:(?P<w>[0-9]+)w)?(?:(?P<d>[0-9]+)d)?(?:(?P<h>[0-9]+)h)?"
    r"(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+)s)?(?:(?P<ms>[0-9]+)ms)?"
)
_UNIT_SECONDS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
# rate() needs two samples inside the window; below a minute (Flagger's floor too) a 15–30 s scrape
# interval leaves windows with one sample, so every gate run would read "no data" and hold forever.
MIN_WINDOW_SECONDS = 60.0

PLACEHOLDERS = ("namespace", "model", "canary", "stable", "window")
# A bare `{identifier}` is never valid PromQL (matchers need an operator), so it can only be a placeholder.
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
BUILTIN_CHECKS = ("request-count", "p99-latency", "error-rate", "accuracy-drop", "confidence-drift")
DEFAULT_PROGRESS_DEADLINE_SECONDS = 1800.0


def promql_duration_seconds(value: str) -> float:
    """'1h30m' -> 5400.0 for a PromQL duration; ValueError when it is not one."""
    match = PROMQL_DURATION.fullmatch(value) if len(value) <= 64 else None
    if not value or match is None:
        raise ValueError(
            f"{excerpt(value)} is not a PromQL duration — write e.g. '5m', '90s' or '1h30m' "
            "(units y, w, d, h, m, s, ms, largest first)"
        )
    return sum(float(n) * _UNIT_SECONDS[unit] for unit, n in match.groupdict().items() if n is not None)


def _window(value: str) -> str:
    if promql_duration_seconds(value) < MIN_WINDOW_SECONDS:
        raise ValueError(
            f"window {value!r} is shorter than 1m — rate() over it sees fewer than two scrapes "
            "and the gate would never have data"
        )
    return value


PromWindow = Annotated[str, AfterValidator(_window)]


def query_placeholders(query: str) -> set[str]:
    """The `{name}` placeholders a query template uses."""
    return set(_PLACEHOLDER.findall(query))


def _query_template(value: str) -> str:
    if not value.strip():
        raise ValueError("query is empty")
    unknown = sorted(query_placeholders(value) - set(PLACEHOLDERS))
    if unknown:
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise ValueError(
            f"unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)} — a query may use {known}"
        )
    return value


QueryTemplate = Annotated[str, AfterValidator(_query_template)]


def render_query(template: str, *, namespace: str, model: str, canary: str, stable: str, window: str) -> str:
    """Fill a query template's placeholders; every other brace (label matchers) is left alone."""
    values = {"namespace": namespace, "model": model, "canary": canary, "stable": stable, "window": window}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


class CustomMetric(StrictModel):
    """An extra PromQL check; the canary passes when every series of the result is within the bounds."""

    name: DnsLabel
    """Name shown in the gate's report; unique within the model and not a built-in check's name."""
    query: QueryTemplate
    """PromQL with placeholders {namespace}, {model}, {canary}, {stable} (version names) and {window}.
    The canary's workload is `{model}-{canary}` in namespace `{namespace}`. No data, NaN or Inf holds."""
    max: float | None = None
    """Upper bound (inclusive): a result above it rolls the canary back."""
    min: float | None = None
    """Lower bound (inclusive): a result below it rolls the canary back."""
    description: str = ""
    """What the metric means, for the reviewer and the gate's report."""

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.max is None and self.min is None:
            raise ValueError(f"metric {self.name} needs max and/or min — a check without a bound never fails")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"metric {self.name} has min {self.min} above max {self.max}")
        return self


class AlertThresholds(StrictModel):
    """Thresholds of the alerting rules that are not canary checks (those reuse the gate's thresholds)."""

    queue_saturation: float = Field(default=0.9, gt=0, le=1)
    """Alert when the queue length per replica exceeds this share of the autoscaling target."""
    max_replicas_for_minutes: int = Field(default=15, ge=1, le=1440)
    """Alert when the autoscaler has been pinned at maxReplicas for this many minutes."""


def _duration(value: str) -> str:
    promql_duration_seconds(value)
    return value


Duration = Annotated[str, AfterValidator(_duration)]
"""A PromQL-style duration ('30s', '5m', '1h30m'); '0s' is allowed."""


def _step_weight(value: int) -> int:
    if not 1 <= value <= 100:
        raise ValueError(f"every step is a weight from 1 to 100, not {value}")
    return value


class Step(StrictModel):
    """One canary weight of the release loop; `20` is short for `{weight: 20}`."""

    weight: Annotated[int, AfterValidator(_step_weight)]
    """The canary's share of traffic at this step (percent)."""
    pause: Duration | None = None
    """Minimum time at this weight before the loop moves on, counted from the commit that set it;
    default: the analysis block's `pause`."""
    approval: bool = False
    """The loop never moves the canary to this weight itself: it waits (holds, still rolling back on a
    failed analysis) until a person does, with a reviewed `modelstack promote` commit."""


def _step_shorthand(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple({"weight": v} if isinstance(v, int) and not isinstance(v, bool) else v for v in value)
    return value


def _steps(value: tuple[Step, ...]) -> tuple[Step, ...]:
    weights = [s.weight for s in value]
    if not value:
        raise ValueError("steps is empty — give the canary weights to walk through, ending at 100")
    if any(b <= a for a, b in itertools.pairwise(weights)):
        raise ValueError(f"steps {weights} must be strictly increasing")
    if weights[-1] != 100:
        raise ValueError(f"steps {weights} must end at 100 — the last step is full promotion")
    return value


# A served model's name as Triton / KServe put it in the route: one path segment (underscores allowed).
ROUTE_NAME = Pattern(r"[A-Za-z0-9][A-Za-z0-9._-]*")
RouteName = Annotated[
    str,
    matching(
        ROUTE_NAME,
        lambda v: (
            f"{excerpt(v)} is not a model name for /v2/models/<name>/infer — letters, digits, '.', '_', '-'"
        ),
        128,
    ),
]

# The evaluator's round: below a few seconds it only loads the model servers; the gate reads the newest
# value inside its window, so a round must land in every window.
MIN_GOLDEN_INTERVAL_SECONDS = 5.0


class GoldenSet(StrictModel):
    """The labelled golden set the stack's evaluator scores every version on (components/quality)."""

    file: RelativePath
    """JSON file, relative to the catalog file and inside the project:
    `{"model", "input", "classes", "examples": [{"input": [numbers], "label": class}]}`
    (examples/golden-set/golden.json). Read at validation time; it travels in a ConfigMap (at most 1 MiB
    with the evaluator program), so a changed file is a new ConfigMap and a restarted evaluator."""
    interval: Duration = "30s"
    """Time between two rounds of the golden set against every version; at most the analysis window."""
    route: RouteName | None = None
    """Model name of the inference route, `/v2/models/<route>/infer` (default: the catalog's model name)."""
    node_pool: PoolName | None = None
    """CPU node pool the evaluator's pod runs on, counted in its capacity plan (default: the stack's first
    pool without GPUs)."""

    @property
    def interval_seconds(self) -> float:
        return promql_duration_seconds(self.interval)


class AnalysisSpec(StrictModel):
    """Canary analysis of a model: when `modelstack gate` promotes, holds or rolls back a new version."""

    window: PromWindow = "5m"
    """PromQL range every check looks back over (e.g. '5m'); at least 1m."""
    p99_latency_ms: float = Field(default=800, gt=0)
    """The canary's P99 request latency at the Istio sidecar must stay at or below this (milliseconds)."""
    error_rate_percent: float = Field(default=1.0, ge=0, le=100)
    """The canary's share of 5xx responses must stay at or below this (percent)."""
    min_requests: int = Field(default=50, ge=1)
    """Requests the canary must have served in the window; below it the result is inconclusive (hold)."""
    steps: Annotated[tuple[Step, ...], BeforeValidator(_step_shorthand), AfterValidator(_steps)] = (
        Step(weight=10),
        Step(weight=50),
        Step(weight=100),
    )
    """Canary weights to walk through, strictly increasing, ending at 100; promotion goes to the next.
    Each is a weight (`20`) or `{weight, pause, approval}`."""
    pause: Duration = "5m"
    """Release loop: minimum time at each weight before the next step, counted from the commit that set
    the weight (first-parent history), never from the loop's own runs."""
    failure_limit: int = Field(default=1, ge=1, le=20)
    """Release loop: roll back after this many failed analyses in a row — the analyses at the evaluation
    time and `window`, 2 × `window`, … before it, each at least as late as the weight's commit."""
    progress_deadline: Duration | None = None
    """Release loop: inconclusive (no data, too few requests, Prometheus unreachable) for longer than
    this after the weight's commit rolls back; the loop never holds forever. Default: 30m, or twice the
    longest pause or window when that is longer."""
    accuracy_drop_percent: float | None = Field(default=None, gt=0, lt=100)
    """Golden-set accuracy of the canary may be at most this many percent below the stable version's,
    relative: canary ≥ stable × (1 − p/100) (0.90 vs 0.95 is a 5.3 % drop). Unset: not checked."""
    confidence_drift: float | None = Field(default=None, gt=0, le=1)
    """Mean prediction confidence (0–1) of the canary on the golden set may differ from the stable
    version's by at most this, absolute. Unset: not checked."""
    golden_set: GoldenSet | None = None
    """The golden set the stack's in-cluster evaluator runs against each version's own Service, exporting
    the series `accuracyDropPercent` and `confidenceDrift` read. Needs the stack's `smokeRunnerImage`."""
    loop: bool = True
    """false: `modelstack release run` leaves this model alone (it reports and changes nothing)."""
    metrics: tuple[CustomMetric, ...] = ()
    """Extra PromQL checks on top of request count, P99 latency and error rate."""
    alerts: AlertThresholds = AlertThresholds()
    """Alerting-rule thresholds that are not canary checks."""

    @model_validator(mode="after")
    def _unique_metric_names(self) -> Self:
        seen: set[str] = set(BUILTIN_CHECKS)
        for metric in self.metrics:
            if metric.name in seen:
                reason = "a built-in check" if metric.name in BUILTIN_CHECKS else "used twice"
                raise ValueError(f"metric name {metric.name!r} is {reason}")
            seen.add(metric.name)
        return self

    @model_validator(mode="after")
    def _deadline_after_pauses(self) -> Self:
        floor = self._longest_wait_seconds()
        if self.progress_deadline is not None and promql_duration_seconds(self.progress_deadline) <= floor:
            raise ValueError(
                f"progressDeadline {self.progress_deadline} must be longer than every pause and the window "
                f"(longest {floor:g} s) — otherwise a canary is rolled back before it could be judged"
            )
        return self

    def _longest_wait_seconds(self) -> float:
        pauses = [promql_duration_seconds(self.pause_at(s.weight)) for s in self.steps]
        return max([*pauses, promql_duration_seconds(self.pause), promql_duration_seconds(self.window)])

    @property
    def progress_deadline_seconds(self) -> float:
        if self.progress_deadline is not None:
            return promql_duration_seconds(self.progress_deadline)
        return max(DEFAULT_PROGRESS_DEADLINE_SECONDS, 2 * self._longest_wait_seconds())

    @property
    def weights(self) -> tuple[int, ...]:
        return tuple(s.weight for s in self.steps)

    def next_step(self, current_weight: int) -> int:
        """The weight after `current_weight`: the first step above it (100 once past the last)."""
        return next((w for w in self.weights if w > current_weight), 100)

    def step_at(self, weight: int) -> Step | None:
        return next((s for s in self.steps if s.weight == weight), None)

    def pause_at(self, weight: int) -> str:
        """The minimum time at `weight`: its step's pause, else the block's."""
        step = self.step_at(weight)
        return step.pause if step is not None and step.pause is not None else self.pause
