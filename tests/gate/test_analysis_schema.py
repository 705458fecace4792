"""The `analysis:` block of a model in models.yaml."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from components.catalog.analysis import AlertThresholds, AnalysisSpec, CustomMetric, render_query
from tests.documented import undocumented_fields

EXAMPLE = """
window: 10m
p99LatencyMs: 500
errorRatePercent: 0.5
minRequests: 200
steps: [5, 25, 50, 100]
metrics:
  - name: queue-vs-stable
    description: canary queue length relative to stable
    query: >-
      max(model_queue_length{namespace="{namespace}",app="{model}",version="{canary}"})
      / max(model_queue_length{namespace="{namespace}",app="{model}",version="{stable}"})
    max: 1.5
alerts:
  queueSaturation: 0.8
  maxReplicasForMinutes: 30
"""


def parse(text: str) -> AnalysisSpec:
    return AnalysisSpec.model_validate(yaml.safe_load(text))


def error_of(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        AnalysisSpec.model_validate(data)
    return str(caught.value)


def test_camel_case_yaml_is_read_into_the_spec() -> None:
    spec = parse(EXAMPLE)

    assert spec.window == "10m"
    assert spec.p99_latency_ms == 500
    assert spec.min_requests == 200
    assert spec.weights == (5, 25, 50, 100)
    assert spec.metrics[0].max == 1.5
    assert spec.alerts == AlertThresholds(queue_saturation=0.8, max_replicas_for_minutes=30)


def test_defaults_are_the_seed_thresholds() -> None:
    spec = AnalysisSpec()

    assert (spec.window, spec.p99_latency_ms, spec.error_rate_percent, spec.min_requests) == (
        "5m",
        800,
        1.0,
        50,
    )
    assert spec.weights == (10, 50, 100)
    assert spec.alerts == AlertThresholds(queue_saturation=0.9, max_replicas_for_minutes=15)


@pytest.mark.parametrize("window", ["5 minutes", "5M", "", "30s5m", "-5m"])
def test_window_that_is_not_a_promql_duration_is_refused(window: str) -> None:
    assert "is not a PromQL duration" in error_of({"window": window})


@pytest.mark.parametrize("window", ["1m", "90s", "1h30m", "2d"])
def test_window_accepts_promql_durations_of_a_minute_or_more(window: str) -> None:
    assert AnalysisSpec(window=window).window == window


def test_window_under_a_minute_is_refused_because_rate_would_never_have_data() -> None:
    assert "shorter than 1m" in error_of({"window": "30s"})


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([10, 10, 100], "strictly increasing"),
        ([50, 10, 100], "strictly increasing"),
        ([10, 50], "must end at 100"),
        ([0, 50, 100], "from 1 to 100"),
        ([10, 150], "from 1 to 100"),
        ([], "steps is empty"),
    ],
)
def test_bad_steps_are_refused_with_the_reason(steps: list[int], message: str) -> None:
    assert message in error_of({"steps": steps})


def test_unknown_placeholder_in_a_query_is_named() -> None:
    message = error_of({"metrics": [{"name": "q", "query": 'up{job="{service}"}', "max": 1}]})

    assert "unknown placeholder(s) {service}" in message
    assert "{namespace}, {model}, {canary}, {stable}, {window}" in message


def test_metric_without_any_bound_is_refused() -> None:
    assert "needs max and/or min" in error_of({"metrics": [{"name": "q", "query": "up"}]})


def test_metric_with_min_above_max_is_refused() -> None:
    assert "min 2.0 above max 1.0" in error_of(
        {"metrics": [{"name": "q", "query": "up", "min": 2, "max": 1}]}
    )


def test_metric_name_must_be_a_dns_label() -> None:
    assert "DNS-1123" in error_of({"metrics": [{"name": "Queue_Len", "query": "up", "max": 1}]})


@pytest.mark.parametrize("name", ["error-rate", "p99-latency", "request-count"])
def test_metric_may_not_reuse_a_built_in_check_name(name: str) -> None:
    assert "is a built-in check" in error_of({"metrics": [{"name": name, "query": "up", "max": 1}]})


def test_metric_names_are_unique() -> None:
    metric = {"name": "q", "query": "up", "max": 1}

    assert "used twice" in error_of({"metrics": [metric, metric]})


def test_misspelt_key_is_an_error_not_silently_ignored() -> None:
    assert "p99LatencyMS" in error_of({"p99LatencyMS": 100})


def test_every_field_is_documented_for_the_catalog_reference() -> None:
    for model in (AnalysisSpec, CustomMetric, AlertThresholds):
        assert undocumented_fields(model) == [], model.__name__


def test_rendering_fills_placeholders_and_leaves_label_matchers_alone() -> None:
    query = 'rate(x{ns="{namespace}",pod=~"{model}-{canary}-.*"}[{window}]) / rate(x{v="{stable}"}[{window}])'

    rendered = render_query(query, namespace="prod", model="resnet", canary="v2", stable="v1", window="5m")

    assert rendered == 'rate(x{ns="prod",pod=~"resnet-v2-.*"}[5m]) / rate(x{v="v1"}[5m])'


@pytest.mark.parametrize(("current", "expected"), [(0, 10), (10, 50), (30, 50), (50, 100)])
def test_next_step_is_the_first_step_above_the_current_weight(current: int, expected: int) -> None:
    assert AnalysisSpec().next_step(current) == expected
