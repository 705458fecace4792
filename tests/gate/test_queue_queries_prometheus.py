"""The queue queries the KEDA trigger, the adapter rule and the saturation alert share, evaluated by a
real Prometheus on Triton-like series (several per pod; see series.py)."""

from __future__ import annotations

import re

import pytest

from components.autoscaling import queries
from components.autoscaling.adapter import EXTERNAL_QUERY, PODS_QUERY
from modelstack.release.gate import PrometheusClient

from .series import AT, NAMESPACE, TRITON_QUEUE

pytestmark = pytest.mark.integration


def values(prometheus_url: str, promql: str) -> list[float]:
    return [s.value for s in PrometheusClient(prometheus_url).query(promql, AT)]


def test_the_version_queue_sums_every_series_of_the_version_and_nothing_else(prometheus_url: str) -> None:
    # One element, as KEDA's Prometheus scaler requires: 2 + 3 + 1 on v1's two pods.
    assert values(prometheus_url, queries.version_queue(TRITON_QUEUE, NAMESPACE, "detector", "v1")) == [6.0]


def test_the_queue_per_replica_divides_by_the_pods_reporting(prometheus_url: str) -> None:
    per_replica = queries.version_queue_per_replica(TRITON_QUEUE, NAMESPACE, "detector", "v1")

    # What the HPA computes from the trigger's AverageValue: 6 requests over 2 replicas.
    assert values(prometheus_url, per_replica) == [3.0]


def test_a_version_without_series_has_no_queue_rather_than_zero(prometheus_url: str) -> None:
    # Empty: the trigger's ignoreNullValues: "false" turns it into an error, never a queue of 0.
    assert values(prometheus_url, queries.version_queue(TRITON_QUEUE, NAMESPACE, "detector", "v9")) == []


def fill(template: str, **values_: str) -> str:
    return re.sub(r"<<\.(\w+)>>", lambda m: values_[m.group(1)], template)


def test_the_adapter_external_rule_answers_what_keda_reads(prometheus_url: str) -> None:
    matchers = queries.version_matchers(NAMESPACE, "detector", "v1")

    assert values(prometheus_url, fill(EXTERNAL_QUERY, Series=TRITON_QUEUE, LabelMatchers=matchers)) == [6.0]


def test_the_adapter_pods_rule_answers_per_pod_values_averaging_to_the_same(prometheus_url: str) -> None:
    matchers = f'namespace="{NAMESPACE}",pod=~"detector-v1-a|detector-v1-b"'

    per_pod = values(
        prometheus_url, fill(PODS_QUERY, Series=TRITON_QUEUE, LabelMatchers=matchers, GroupBy="pod")
    )

    assert sorted(per_pod) == [1.0, 5.0]
    assert sum(per_pod) / len(per_pod) == 3.0
