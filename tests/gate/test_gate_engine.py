"""Gate behaviour that needs no Prometheus: argument checks, errors, serialisation."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest

from components.catalog.analysis import AnalysisSpec
from modelstack.release.gate import (
    EXIT_CODES,
    CheckResult,
    Decision,
    GateResult,
    PrometheusClient,
    PrometheusError,
    Status,
    error_rate_query,
    evaluate_gate,
    p99_latency_query,
)


def test_exit_codes_are_promote_0_hold_10_rollback_11() -> None:
    assert EXIT_CODES == {Decision.PROMOTE: 0, Decision.HOLD: 10, Decision.ROLLBACK: 11}


def test_unreachable_prometheus_is_an_error_not_a_decision() -> None:
    client = PrometheusClient("http://127.0.0.1:9", timeout=2)

    with pytest.raises(PrometheusError, match="cannot reach Prometheus"):
        evaluate_gate("m", AnalysisSpec(), "v2", "v1", 10, "ns", client)


@pytest.mark.parametrize("weight", [-1, 100])
def test_a_canary_weight_outside_0_to_99_is_refused(weight: int) -> None:
    with pytest.raises(ValueError, match="0–99"):
        evaluate_gate("m", AnalysisSpec(), "v2", "v1", weight, "ns", PrometheusClient("http://127.0.0.1:9"))


def test_p99_query_selects_the_canary_workload_on_the_destination_side() -> None:
    query = p99_latency_query("prod", "resnet-v2", "5m")

    assert query == (
        "histogram_quantile(0.99, sum by (destination_workload, le) (rate(istio_request_duration_milliseconds_bucket"
        '{reporter="destination",destination_workload_namespace="prod",destination_workload="resnet-v2"}[5m])))'
    )


def test_error_rate_falls_back_to_zero_times_the_request_rate_without_5xx_series() -> None:
    # A canary that never failed has no 5xx series: the ratio alone would read as "no data"
    # (test_gate_prometheus.py evaluates it on a real Prometheus).
    total = (
        'sum by (destination_workload) (rate(istio_requests_total{reporter="destination",'
        'destination_workload_namespace="prod",destination_workload="resnet-v2"}[5m]))'
    )
    assert error_rate_query("prod", "resnet-v2", "5m").endswith(f" or {total} * 0)")


def test_result_serialises_to_json_with_non_finite_values_as_strings() -> None:
    nan = CheckResult("p99-latency", "q", math.nan, Status.INCONCLUSIVE, "NaN", max=800)
    result = GateResult(
        model="m",
        namespace="ns",
        canary="v2",
        stable="v1",
        current_weight=10,
        decision=Decision.HOLD,
        next_weight=10,
        reason="inconclusive",
        checks=(nan,),
        evaluated_at=datetime(2024, 5, 1, tzinfo=UTC),
    )

    document = json.loads(json.dumps(result.to_dict(), allow_nan=False))

    assert document["decision"] == "hold"
    assert document["checks"][0]["value"] == "nan"
    assert document["evaluated_at"] == "2024-05-01T00:00:00+00:00"
