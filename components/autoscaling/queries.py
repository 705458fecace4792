"""The PromQL of one model version — its queue, request count, P99 latency and 5xx rate — written once.

Every consumer takes its query from here, verbatim: the scaler (the KEDA trigger's `query`, or the
prometheus-adapter rule's `metricsQuery` template, which the adapter fills with the same matchers), the
PrometheusRule alerts and the canary gate. So the number an alert pages on, the number the gate rolls a
canary back on and the number the autoscaler scales on are the same expression, not three near-copies
(tests/autoscaling/test_one_source_of_queries.py holds them to it). Free of Pulumi and of the catalog: the
gate imports it.

Two sources of series:
- the server's own metrics, scraped by the PodMonitor, which copies the pod labels `app` and `version`
  onto every series (`components/autoscaling/monitoring.py`): the queue;
- Istio's destination-side telemetry of the version's workload `<model>-<version>`: requests, latency,
  errors. `reporter="destination"`: the client side reports too, with its own failures, and would count
  every request twice.
"""

from __future__ import annotations

ISTIO_REQUESTS = "istio_requests_total"
ISTIO_DURATION_BUCKET = "istio_request_duration_milliseconds_bucket"
VERSION_LABELS = "namespace, app, version"
"""What the queue is summed by: the version's identity, so one series comes back per version (KEDA's
Prometheus scaler needs exactly one element)."""
WORKLOAD_LABELS = "destination_workload"
"""What the Istio queries are summed by: one series per version workload, so an alert can join its
conditions `on (destination_workload)` and name the version in its message."""


# --- the queue (server metrics) -------------------------------------------------------------------------


def version_matchers(namespace: str, model: str, version: str) -> str:
    """The label matchers of one version's scraped series (DNS labels: nothing in them needs escaping)."""
    return f'namespace="{namespace}",app="{model}",version="{version}"'


def queue_total(metric: str, matchers: str, by: str = VERSION_LABELS) -> str:
    """Requests waiting, summed over the selected series: a Triton pod reports one series per loaded model.

    The adapter rules call it with its template placeholders (`<<.Series>>`, `<<.LabelMatchers>>`,
    `<<.GroupBy>>`), which prometheus-adapter replaces with exactly the arguments the other callers pass.
    """
    return f"sum by ({by}) ({metric}{{{matchers}}})"


def version_queue(metric: str, namespace: str, model: str, version: str) -> str:
    """All requests waiting in one version: the KEDA trigger's query. With `metricType: AverageValue` the
    HPA KEDA creates divides it by the replica count, as it divides an External metric's sum."""
    return queue_total(metric, version_matchers(namespace, model, version))


def version_replicas_reporting(metric: str, namespace: str, model: str, version: str) -> str:
    """Pods of the version that report the queue metric (each may report several series)."""
    per_pod = f"count by ({VERSION_LABELS}, pod) ({metric}{{{version_matchers(namespace, model, version)}}})"
    return f"count by ({VERSION_LABELS}) ({per_pod})"


def version_queue_per_replica(metric: str, namespace: str, model: str, version: str) -> str:
    """The version's queue per replica: what the autoscaling target is written in."""
    return (
        f"{version_queue(metric, namespace, model, version)} / "
        f"{version_replicas_reporting(metric, namespace, model, version)}"
    )


# --- traffic (Istio telemetry of the version's workload) ------------------------------------------------


def workload_matchers(namespace: str, workload: str, extra: str = "") -> str:
    return (
        f'reporter="destination",destination_workload_namespace="{namespace}",'
        f'destination_workload="{workload}"{extra}'
    )


def request_count(namespace: str, workload: str, window: str) -> str:
    """Requests the workload answered in the window (any status)."""
    return (
        f"sum by ({WORKLOAD_LABELS}) (increase({ISTIO_REQUESTS}{{{workload_matchers(namespace, workload)}}}"
        f"[{window}]))"
    )


def p99_latency_ms(namespace: str, workload: str, window: str) -> str:
    """The workload's P99 request duration over the window, in milliseconds (NaN without requests)."""
    return (
        f"histogram_quantile(0.99, sum by ({WORKLOAD_LABELS}, le) (rate({ISTIO_DURATION_BUCKET}"
        f"{{{workload_matchers(namespace, workload)}}}[{window}])))"
    )


def error_rate_percent(namespace: str, workload: str, window: str) -> str:
    """Share of 5xx responses over the window, in percent.

    A workload that never failed has no 5xx series at all, so the ratio alone would be empty ("no data")
    for the healthiest canary: `or <total> * 0` reads 0 there. With no requests at all the total is empty
    too, and so is the result: no data, never a pass.
    """
    five_xx = workload_matchers(namespace, workload, ',response_code=~"5.."')
    errors = f"sum by ({WORKLOAD_LABELS}) (rate({ISTIO_REQUESTS}{{{five_xx}}}[{window}]))"
    total = (
        f"sum by ({WORKLOAD_LABELS}) (rate({ISTIO_REQUESTS}{{{workload_matchers(namespace, workload)}}}"
        f"[{window}]))"
    )
    return f"100 * ({errors} / {total} or {total} * 0)"
