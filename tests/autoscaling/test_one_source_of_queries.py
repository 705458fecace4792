"""The scaler, the alerts and the gate ask Prometheus the very same questions, for every server preset.

`components/autoscaling/queries.py` writes each query once. Here every consumer is read back from what it
really produces — the rendered KEDA trigger and prometheus-adapter rule, the rendered PrometheusRule, and
the queries the gate sends to a recording Prometheus client — and the strings are compared, so a consumer
that starts writing its own near-copy fails."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from components.autoscaling import alerts, queries
from components.autoscaling.keda import scaled_object_manifest
from components.autoscaling.metrics import scaling_metric
from components.catalog.analysis import AnalysisSpec
from components.catalog.model import ModelSpec
from components.catalog.server import ServerKind
from components.catalog.stack_config import AutoscalingConfig, StackConfig
from components.naming import version_object_name
from components.validation.loader import load_catalog
from modelstack.engine.render import Render, run_program
from modelstack.release.gate import PrometheusClient, Sample, evaluate_gate

from .conftest import ADAPTER, IMAGE, KEDA, NAMESPACE, PROMETHEUS, catalog_text, of_kind, stack_file

# What `server: custom` must declare itself (the presets bring their own endpoints).
CUSTOM = (
    "serverOverrides: {port: 8080, livenessPath: /live, readinessPath: /ready, queueMetric: queue_depth, "
    "metrics: [queue_depth]}"
)
VERSIONS = ("v1", "v2")


def model_block(kind: ServerKind, metric_type: str) -> str:
    name = f"{kind.value}-{metric_type.lower()}"
    precision = ", precision: bf16" if kind is ServerKind.TGI else ""  # TGI takes float16/bfloat16 only
    overrides = f"\n  {CUSTOM}" if kind is ServerKind.CUSTOM else ""
    versions = "".join(
        f'\n    {v}: {{image: "{IMAGE}", weight: {w}, resources: {{cpu: "1", memory: 1Gi}}, '
        f"replicas: {{min: 1, max: 4}}{precision}}}"
        for v, w in zip(VERSIONS, (90, 10), strict=True)
    )
    return (
        f"{name}:\n  server: {kind.value}{overrides}\n  autoscaling: {{target: 3, type: {metric_type}}}\n"
        f"  analysis: {{window: 7m, minRequests: 40, p99LatencyMs: 333, errorRatePercent: 1.5}}\n"
        f"  versions:{versions}\n"
    )


# Every server kind the catalog knows, each scaled as a Pods and as an External metric.
CATALOG = "".join(model_block(kind, t) for kind in ServerKind for t in ("Pods", "External"))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("queries")
    (root / "models.yaml").write_text(catalog_text(CATALOG))
    return root


@pytest.fixture(scope="module")
def models(project: Path) -> Mapping[str, ModelSpec]:
    return load_catalog(project / "models.yaml", StackConfig(namespace=NAMESPACE)).catalog.models


def render(project: Path, engine: str) -> Render:
    (project / "Pulumi.q.yaml").write_text(stack_file(engine))
    return run_program(project, "q")


@pytest.fixture(scope="module")
def keda_render(project: Path) -> Render:
    return render(project, KEDA)


@pytest.fixture(scope="module")
def adapter_render(project: Path) -> Render:
    return render(project, ADAPTER)


def versions(models: Mapping[str, ModelSpec]) -> list[tuple[str, str]]:
    return [(m, v) for m, model in models.items() for v in model.versions]


def version_alerts(render: Render, model: str, version: str) -> dict[str, str]:
    [group] = of_kind(render, "PrometheusRule")[model]["spec"]["groups"]
    return {r["alert"]: r["expr"] for r in group["rules"] if r["labels"].get("version") == version}


def fill(template: str, **values: str) -> str:
    """A metricsQuery as prometheus-adapter sends it: each `<<.Field>>` replaced by its value."""
    return re.sub(r"<<\.(\w+)>>", lambda m: values[m.group(1)], template)


class RecordingPrometheus(PrometheusClient):
    """Answers every query with one finite sample and remembers what it was asked, in order."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9")
        self.asked: list[str] = []

    def query(self, promql: str, at: datetime | None = None) -> list[Sample]:
        self.asked.append(promql)
        return [Sample({}, 1.0)]


def gate_queries(model_name: str, model: ModelSpec, canary: str, stable: str) -> dict[str, str]:
    client = RecordingPrometheus()
    result = evaluate_gate(
        model_name, model.analysis or AnalysisSpec(), canary, stable, 10, NAMESPACE, client
    )
    return {check.name: check.query for check in result.checks}


def test_the_catalog_covers_every_server_kind(models: Mapping[str, ModelSpec]) -> None:
    assert {model.server_preset.kind for model in models.values()} == set(ServerKind)


def test_the_keda_trigger_queries_the_versions_queue_built_by_the_queries_module(
    keda_render: Render, models: Mapping[str, ModelSpec]
) -> None:
    scaled = of_kind(keda_render, "ScaledObject")

    for model_name, version in versions(models):
        metric = scaling_metric(models[model_name])
        assert metric is not None
        [trigger] = scaled[version_object_name(model_name, version)]["spec"]["triggers"]
        assert trigger["metadata"]["query"] == queries.version_queue(metric, NAMESPACE, model_name, version)


def test_the_queue_alert_is_written_with_the_keda_triggers_query(
    keda_render: Render, models: Mapping[str, ModelSpec]
) -> None:
    scaled = of_kind(keda_render, "ScaledObject")

    for model_name, version in versions(models):
        [trigger] = scaled[version_object_name(model_name, version)]["spec"]["triggers"]
        alert = version_alerts(keda_render, model_name, version)["ModelQueueSaturated"]
        assert alert.startswith(f"{trigger['metadata']['query']} / "), (model_name, version)


def test_the_adapter_rule_filled_in_for_a_version_is_the_keda_triggers_query(
    keda_render: Render, adapter_render: Render, models: Mapping[str, ModelSpec]
) -> None:
    [fragment] = [
        m.body
        for m in adapter_render.manifests
        if m.kind == "ConfigMap" and "rules.yaml" in m.body.get("data", {})
    ]
    config: dict[str, Any] = yaml.safe_load(fragment["data"]["rules.yaml"])
    scaled = of_kind(keda_render, "ScaledObject")

    for model_name, version in versions(models):
        model = models[model_name]
        metric = scaling_metric(model)
        assert metric is not None
        kind = (
            "externalRules" if model.autoscaling and model.autoscaling.type.value == "External" else "rules"
        )
        [rule] = [r for r in config[kind] if r["name"]["matches"] == f"^{metric}$"]
        [trigger] = scaled[version_object_name(model_name, version)]["spec"]["triggers"]
        # The adapter fills in the version's series matchers (External selector or its pods) and, for a
        # Pods metric, the label it groups by: the same sum as KEDA's, per pod instead of per version.
        asked = fill(
            rule["metricsQuery"],
            Series=metric,
            LabelMatchers=queries.version_matchers(NAMESPACE, model_name, version),
            GroupBy=queries.VERSION_LABELS,
        )
        assert asked == trigger["metadata"]["query"], (model_name, version)


@pytest.mark.parametrize("engine", [KEDA, ADAPTER])
def test_the_gate_asks_exactly_the_queries_the_versions_alerts_are_written_with(
    keda_render: Render, adapter_render: Render, models: Mapping[str, ModelSpec], engine: str
) -> None:
    rendered = keda_render if engine == KEDA else adapter_render

    for model_name, model in models.items():
        for canary, stable in (VERSIONS, VERSIONS[::-1]):
            asked = gate_queries(model_name, model, canary, stable)
            written = version_alerts(rendered, model_name, canary)
            assert asked["p99-latency"] in written["ModelP99LatencyHigh"]
            assert asked["error-rate"] in written["ModelErrorRateHigh"]
            # The alerts' minRequests guard is the gate's request-count check.
            assert asked["request-count"] in written["ModelP99LatencyHigh"]
            assert asked["request-count"] in written["ModelErrorRateHigh"]


DNS_LABEL = st.from_regex(r"[a-z]([-a-z0-9]{0,10}[a-z0-9])?", fullmatch=True)
WINDOW = st.from_regex(r"[1-9][0-9]?[mh]", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(namespace=DNS_LABEL, model_name=DNS_LABEL, version=DNS_LABEL, window=WINDOW)
def test_alert_and_gate_queries_agree_for_any_namespace_version_and_window(
    namespace: str, model_name: str, version: str, window: str
) -> None:
    analysis = AnalysisSpec(window=window)
    workload = version_object_name(model_name, version)
    client = RecordingPrometheus()

    evaluate_gate(model_name, analysis, version, "stable", 10, namespace, client)
    count, p99, errors = client.asked
    latency_alert = alerts.p99_latency_alert(model_name, version, namespace, analysis)["expr"]
    error_alert = alerts.error_rate_alert(model_name, version, namespace, analysis)["expr"]

    assert (count, p99, errors) == (
        queries.request_count(namespace, workload, window),
        queries.p99_latency_ms(namespace, workload, window),
        queries.error_rate_percent(namespace, workload, window),
    )
    assert p99 in latency_alert and count in latency_alert
    assert errors in error_alert and count in error_alert


@settings(max_examples=40, deadline=None)
@given(namespace=DNS_LABEL, data=st.data())
def test_scaler_and_queue_alert_agree_for_every_preset_in_any_namespace(
    models: Mapping[str, ModelSpec], namespace: str, data: st.DataObject
) -> None:
    model_name = data.draw(st.sampled_from(sorted(models)))
    version = data.draw(st.sampled_from(VERSIONS))
    model = models[model_name]
    analysis = model.analysis or AnalysisSpec()

    manifest = scaled_object_manifest(
        model_name, version, model, AutoscalingConfig(prometheusAddress=PROMETHEUS), namespace
    )
    [trigger] = manifest["spec"]["triggers"]
    alert = alerts.queue_saturation_alert(model_name, version, model, namespace, analysis)

    assert alert is not None
    assert alert["expr"].startswith(f"{trigger['metadata']['query']} / ")
    assert f'namespace="{namespace}",app="{model_name}",version="{version}"' in trigger["metadata"]["query"]
