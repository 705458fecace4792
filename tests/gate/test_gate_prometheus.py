"""The metric gate against a real Prometheus holding known Istio telemetry (see series.py)."""

from __future__ import annotations

import math

import pytest

from components.catalog.analysis import AnalysisSpec, CustomMetric
from modelstack.release.gate import (
    CheckResult,
    Decision,
    GateResult,
    PrometheusClient,
    PrometheusError,
    Status,
    evaluate_gate,
)

from .series import AT, NAMESPACE

pytestmark = pytest.mark.integration

QUEUE = 'max(model_queue_length{{namespace="{{namespace}}",app="{{model}}",version="{version}"}})'
QUEUE_VS_STABLE = CustomMetric(
    name="queue-vs-stable",
    query=f"{QUEUE.format(version='{canary}')} / {QUEUE.format(version='{stable}')}",
    max=1.5,
    description="canary queue length relative to stable",
)
CACHE = 'sum(rate(model_cache_{kind}_total{{namespace="{{namespace}}",app="{{model}}",version="{{canary}}"}}[{{window}}]))'


def gate(
    prometheus_url: str, model: str, *, weight: int = 10, analysis: AnalysisSpec | None = None
) -> GateResult:
    return evaluate_gate(
        model,
        analysis or AnalysisSpec(),
        "v2",
        "v1",
        weight,
        NAMESPACE,
        PrometheusClient(prometheus_url),
        at=AT,
    )


def check(result: GateResult, name: str) -> CheckResult:
    return next(c for c in result.checks if c.name == name)


@pytest.mark.parametrize(("weight", "next_weight"), [(10, 50), (30, 50), (50, 100)])
def test_healthy_canary_is_promoted_to_the_next_step(
    prometheus_url: str, weight: int, next_weight: int
) -> None:
    result = gate(prometheus_url, "healthy", weight=weight)

    assert result.decision is Decision.PROMOTE
    assert result.next_weight == next_weight
    assert result.exit_code == 0


def test_every_measured_value_is_reported_with_its_threshold(prometheus_url: str) -> None:
    result = gate(prometheus_url, "healthy")

    assert check(result, "request-count").value == pytest.approx(3000)
    assert check(result, "p99-latency").value == pytest.approx(450)
    assert check(result, "p99-latency").max == 800
    assert check(result, "error-rate").value == 0
    assert all(c.status is Status.PASS and c.reason for c in result.checks)


def test_only_destination_reported_requests_count(prometheus_url: str) -> None:
    # series.py adds client-side (reporter="source") 503s for this canary; they must not count.
    result = gate(prometheus_url, "healthy")

    assert check(result, "error-rate").value == 0
    assert 'reporter="destination"' in check(result, "error-rate").query


def test_canary_without_any_series_is_held(prometheus_url: str) -> None:
    result = gate(prometheus_url, "idle")

    assert result.decision is Decision.HOLD
    assert result.next_weight == 10
    assert result.exit_code == 10
    assert all(c.status is Status.INCONCLUSIVE and c.value is None for c in result.checks)
    assert "no data" in result.reason


def test_canary_whose_traffic_stopped_is_held_on_nan(prometheus_url: str) -> None:
    result = gate(prometheus_url, "stopped")

    assert result.decision is Decision.HOLD
    p99 = check(result, "p99-latency")
    assert p99.status is Status.INCONCLUSIVE
    assert p99.value is not None and math.isnan(p99.value)


@pytest.mark.parametrize(
    ("numerator", "denominator"), [("lookups", "lookups"), ("hits", "lookups")], ids=["nan", "inf"]
)
def test_non_finite_custom_metric_holds_an_otherwise_healthy_canary(
    prometheus_url: str, numerator: str, denominator: str
) -> None:
    ratio = CustomMetric(
        name="cache-hit-ratio",
        query=f"{CACHE.format(kind=numerator)} / {CACHE.format(kind=denominator)}",
        min=0.5,
    )
    result = gate(prometheus_url, "healthy", analysis=AnalysisSpec(metrics=(ratio,)))

    assert result.decision is Decision.HOLD
    measured = check(result, "cache-hit-ratio")
    assert measured.status is Status.INCONCLUSIVE
    assert measured.value is not None and not math.isfinite(measured.value)


def test_slow_canary_is_rolled_back_on_p99_latency(prometheus_url: str) -> None:
    result = gate(prometheus_url, "slow")

    assert result.decision is Decision.ROLLBACK
    assert result.next_weight == 0
    assert result.exit_code == 11
    assert check(result, "p99-latency").status is Status.FAIL
    assert check(result, "p99-latency").value == pytest.approx(2450)
    assert "p99-latency" in result.reason


def test_p99_threshold_comes_from_the_analysis_block(prometheus_url: str) -> None:
    result = gate(prometheus_url, "slow", analysis=AnalysisSpec(p99_latency_ms=3000))

    assert result.decision is Decision.PROMOTE


def test_erroring_canary_is_rolled_back_on_error_rate(prometheus_url: str) -> None:
    result = gate(prometheus_url, "erroring")

    assert result.decision is Decision.ROLLBACK
    assert check(result, "error-rate").value == pytest.approx(6)
    assert "error-rate" in result.reason


def test_too_few_requests_hold_even_when_they_all_failed(prometheus_url: str) -> None:
    result = gate(prometheus_url, "trickle")

    assert result.decision is Decision.HOLD
    assert check(result, "request-count").value == pytest.approx(5)
    assert check(result, "error-rate").value == 100
    assert "minRequests 50" in result.reason


def test_custom_metric_above_its_max_rolls_back(prometheus_url: str) -> None:
    result = gate(prometheus_url, "queued", analysis=AnalysisSpec(metrics=(QUEUE_VS_STABLE,)))

    assert result.decision is Decision.ROLLBACK
    assert check(result, "queue-vs-stable").value == pytest.approx(4)  # 12 queued vs 3 on stable
    assert "queue-vs-stable" in result.reason


def test_custom_metric_within_bounds_lets_the_canary_promote(prometheus_url: str) -> None:
    result = gate(prometheus_url, "healthy", analysis=AnalysisSpec(metrics=(QUEUE_VS_STABLE,)))

    assert result.decision is Decision.PROMOTE
    measured = check(result, "queue-vs-stable")
    assert measured.value == pytest.approx(2 / 3)
    assert 'version="v2"' in measured.query and 'version="v1"' in measured.query


def test_custom_metric_is_judged_on_its_worst_series(prometheus_url: str) -> None:
    per_version = CustomMetric(name="queue", query='model_queue_length{app="{model}"}', max=2.5)
    result = gate(prometheus_url, "healthy", analysis=AnalysisSpec(metrics=(per_version,)))

    assert result.decision is Decision.ROLLBACK
    assert check(result, "queue").value == 3  # stable's 3, not canary's 2: every series must pass


def test_invalid_custom_query_is_an_error_not_a_decision(prometheus_url: str) -> None:
    broken = CustomMetric(name="broken", query="sum(rate(foo[{window}])", max=1)

    with pytest.raises(PrometheusError, match="400"):
        gate(prometheus_url, "healthy", analysis=AnalysisSpec(metrics=(broken,)))
