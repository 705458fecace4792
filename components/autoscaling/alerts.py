"""Alerting rules of a model. Thresholds come from the model's `analysis:` block, the one the canary gate
reads, and the expressions from `components.autoscaling.queries`, the module the gate and the scaler take
theirs from: a version is rolled back for exactly what would page someone once it is stable."""

from __future__ import annotations

from typing import Any

from components.autoscaling import queries
from components.autoscaling.metrics import scaling_metric
from components.catalog.analysis import AnalysisSpec
from components.catalog.model import ModelSpec, is_autoscaled
from components.naming import version_object_name

NONFINITE_METRIC = "modelstack_nonfinite_outputs_total"
"""Counter of NaN/Inf outputs; alerted on only where the model's server declares it in its metrics."""


def _number(value: float) -> str:
    return f"{value:g}"


def _alternation(names: list[str]) -> str:
    # Exact names (DNS labels, no regex metacharacters): `<model>-.*` would also match model `<model>-x`.
    return "(" + "|".join(names) + ")"


def _enough_requests(namespace: str, workload: str, analysis: AnalysisSpec) -> str:
    # The gate's minRequests: below it one slow or failed request is not a signal worth a page.
    return f"{queries.request_count(namespace, workload, analysis.window)} >= {analysis.min_requests}"


def _alert(
    name: str,
    expr: str,
    *,
    for_: str,
    severity: str,
    model_name: str,
    summary: str,
    description: str,
    version: str | None = None,
) -> dict[str, Any]:
    labels = {"severity": severity, "model": model_name, **({"version": version} if version else {})}
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": labels,
        "annotations": {"summary": summary, "description": description},
    }


def p99_latency_alert(
    model_name: str, version: str, namespace: str, analysis: AnalysisSpec
) -> dict[str, Any]:
    """The gate's p99-latency check on one version, with the gate's own query."""
    workload = version_object_name(model_name, version)
    p99 = queries.p99_latency_ms(namespace, workload, analysis.window)
    return _alert(
        "ModelP99LatencyHigh",
        f"({p99} > {_number(analysis.p99_latency_ms)}) and on (destination_workload) "
        f"({_enough_requests(namespace, workload, analysis)})",
        for_=analysis.window,
        severity="warning",
        model_name=model_name,
        version=version,
        summary="{{ $labels.destination_workload }}: P99 latency above "
        + f"{_number(analysis.p99_latency_ms)} ms",
        description="P99 request latency of {{ $labels.destination_workload }} is {{ $value | humanize }} ms over the last "
        f"{analysis.window} (threshold {_number(analysis.p99_latency_ms)} ms from analysis.p99LatencyMs).",
    )


def error_rate_alert(model_name: str, version: str, namespace: str, analysis: AnalysisSpec) -> dict[str, Any]:
    """The gate's error-rate check on one version, with the gate's own query."""
    workload = version_object_name(model_name, version)
    rate = queries.error_rate_percent(namespace, workload, analysis.window)
    return _alert(
        "ModelErrorRateHigh",
        f"({rate} > {_number(analysis.error_rate_percent)}) and on (destination_workload) "
        f"({_enough_requests(namespace, workload, analysis)})",
        for_=analysis.window,
        severity="critical",
        model_name=model_name,
        version=version,
        summary="{{ $labels.destination_workload }}: 5xx rate above "
        + f"{_number(analysis.error_rate_percent)} %",
        description="{{ $value | humanize }} % of the requests to {{ $labels.destination_workload }} failed with 5xx over "
        f"the last {analysis.window} (threshold {_number(analysis.error_rate_percent)} % from "
        "analysis.errorRatePercent).",
    )


def queue_saturation_alert(
    model_name: str, version: str, model: ModelSpec, namespace: str, analysis: AnalysisSpec
) -> dict[str, Any] | None:
    """The version's queue per replica near the target: built on the scaler's own query."""
    metric = scaling_metric(model)
    if model.autoscaling is None or metric is None:
        return None
    threshold = analysis.alerts.queue_saturation * model.autoscaling.target
    per_replica = queries.version_queue_per_replica(metric, namespace, model_name, version)
    return _alert(
        "ModelQueueSaturated",
        f"{per_replica} > {_number(threshold)}",
        for_=analysis.window,
        severity="warning",
        model_name=model_name,
        version=version,
        summary="{{ $labels.version }}: queue per replica near the autoscaling target",
        description=f"{metric} per replica of {model_name} "
        + "{{ $labels.version }} is {{ $value | humanize }}, above "
        f"{_number(analysis.alerts.queue_saturation)} x the autoscaling target {_number(model.autoscaling.target)}: "
        "the autoscaler is not keeping up (at max replicas, or new replicas still loading).",
    )


def hpa_at_max_alert(
    model_name: str, model: ModelSpec, namespace: str, analysis: AnalysisSpec
) -> dict[str, Any] | None:
    scaled = [
        version_object_name(model_name, v) for v, spec in model.versions.items() if is_autoscaled(model, spec)
    ]
    if not scaled:
        return None
    selector = f'namespace="{namespace}",horizontalpodautoscaler=~"{_alternation(scaled)}"'
    minutes = analysis.alerts.max_replicas_for_minutes
    return _alert(
        "ModelAutoscalerAtMax",
        f"kube_horizontalpodautoscaler_status_current_replicas{{{selector}}} >= on (namespace, "
        f"horizontalpodautoscaler) kube_horizontalpodautoscaler_spec_max_replicas{{{selector}}}",
        for_=f"{minutes}m",
        severity="warning",
        model_name=model_name,
        summary="{{ $labels.horizontalpodautoscaler }}: pinned at maxReplicas",
        description="The autoscaler {{ $labels.horizontalpodautoscaler }} has run at maxReplicas ({{ $value }}) for "
        f"{minutes} minutes (analysis.alerts.maxReplicasForMinutes): raise replicas.max or add capacity.",
    )


def nonfinite_outputs_alert(
    model_name: str, model: ModelSpec, namespace: str, analysis: AnalysisSpec
) -> dict[str, Any] | None:
    if NONFINITE_METRIC not in model.server_preset.metrics:
        return None
    return _alert(
        "ModelNonFiniteOutputs",
        f'sum by (namespace, version) (increase({NONFINITE_METRIC}{{namespace="{namespace}",app="{model_name}"}}'
        f"[{analysis.window}])) > 0",
        for_="1m",
        severity="critical",
        model_name=model_name,
        summary="{{ $labels.version }}: the model returned NaN/Inf outputs",
        description=f"{model_name} "
        + "{{ $labels.version }} produced {{ $value | humanize }} non-finite outputs over the "
        f"last {analysis.window} ({NONFINITE_METRIC}): numerical overflow, often fp16.",
    )


def model_alerts(model_name: str, model: ModelSpec, namespace: str) -> list[dict[str, Any]]:
    """Every alert of a model in a stable order: per version, the gate's checks and the queue, each with
    the query the gate and the scaler use; then the model-wide ones. Thresholds default to `AnalysisSpec()`."""
    analysis = model.analysis or AnalysisSpec()
    rules: list[dict[str, Any] | None] = []
    for version in model.versions:
        rules += [
            p99_latency_alert(model_name, version, namespace, analysis),
            error_rate_alert(model_name, version, namespace, analysis),
            queue_saturation_alert(model_name, version, model, namespace, analysis),
        ]
    rules += [
        hpa_at_max_alert(model_name, model, namespace, analysis),
        nonfinite_outputs_alert(model_name, model, namespace, analysis),
    ]
    return [rule for rule in rules if rule is not None]
