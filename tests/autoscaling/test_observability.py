"""Per-model PodMonitor and PrometheusRule: scraping the server's metrics, alerting on the gate's thresholds."""

from __future__ import annotations

from typing import Any

import pytest

from components.catalog.errors import CatalogError
from modelstack.engine.render import Render

from .conftest import IMAGE, of_kind


def rules(render: Render, model: str) -> list[dict[str, Any]]:
    [group] = of_kind(render, "PrometheusRule")[model]["spec"]["groups"]
    return group["rules"]


def alerts(render: Render, model: str, version: str | None = None) -> dict[str, dict[str, Any]]:
    """The model's alerts by name: those of `version` (per-version alerts carry a `version` label) and the
    model-wide ones; `version` defaults to the model's first version."""
    if version is None:
        version = next(r["labels"]["version"] for r in rules(render, model) if "version" in r["labels"])
    return {r["alert"]: r for r in rules(render, model) if r["labels"].get("version", version) == version}


def container_ports(render: Render, deployment: str) -> dict[str, int]:
    [container] = of_kind(render, "Deployment")[deployment]["spec"]["template"]["spec"]["containers"]
    return {port["name"]: port["containerPort"] for port in container["ports"]}


def test_every_prod_model_has_a_pod_monitor_and_a_rule_labelled_for_the_operator(prod_render: Render) -> None:
    models = {"llm-chat", "vision-detector", "text-embedder"}

    # text-embedder's golden-set evaluator has a PodMonitor of its own (components/quality).
    expected = {"PodMonitor": models | {"text-embedder-golden-eval"}, "PrometheusRule": models}
    for kind in ("PodMonitor", "PrometheusRule"):
        objects = of_kind(prod_render, kind)
        assert set(objects) == expected[kind]
        for body in objects.values():
            assert body["apiVersion"] == "monitoring.coreos.com/v1"
            assert body["metadata"]["namespace"] == "ml-serving"
            assert body["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_pod_monitor_scrapes_a_dedicated_metrics_port_the_pods_declare(prod_render: Render) -> None:
    monitor = of_kind(prod_render, "PodMonitor")["vision-detector"]["spec"]

    assert monitor["podMetricsEndpoints"][0]["port"] == "metrics"
    assert monitor["podMetricsEndpoints"][0]["path"] == "/metrics"
    assert "metrics" in container_ports(prod_render, "vision-detector-v7")


@pytest.mark.parametrize(
    ("model", "deployment"), [("llm-chat", "llm-chat-v2"), ("text-embedder", "text-embedder-v1")]
)
def test_metrics_on_the_serving_port_are_scraped_through_istio_metrics_merging(
    prod_render: Render, model: str, deployment: str
) -> None:
    endpoint = of_kind(prod_render, "PodMonitor")[model]["spec"]["podMetricsEndpoints"][0]
    template = of_kind(prod_render, "Deployment")[deployment]["spec"]["template"]

    assert (endpoint["portNumber"], endpoint["path"]) == (15020, "/stats/prometheus")
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(container_ports(prod_render, deployment)["http"])
    assert annotations["prometheus.io/path"] == "/metrics"


def test_pod_monitor_selects_the_models_pods_and_copies_their_version_label(prod_render: Render) -> None:
    monitor = of_kind(prod_render, "PodMonitor")["llm-chat"]["spec"]
    pod_labels = of_kind(prod_render, "Deployment")["llm-chat-v2"]["spec"]["template"]["metadata"]["labels"]

    assert monitor["selector"]["matchLabels"].items() <= pod_labels.items()
    assert monitor["podTargetLabels"] == ["app", "version"]


def test_autoscaled_model_has_latency_error_queue_and_max_replica_alerts(prod_render: Render) -> None:
    assert list(alerts(prod_render, "llm-chat")) == [
        "ModelP99LatencyHigh",
        "ModelErrorRateHigh",
        "ModelQueueSaturated",
        "ModelAutoscalerAtMax",
    ]


def test_fixed_size_model_without_autoscaling_only_has_traffic_alerts(render_catalog) -> None:
    fixed = f"""
    plain:
      server: triton
      versions:
        v1: {{image: "{IMAGE}", weight: 100, resources: {{cpu: "1", memory: 1Gi}}, replicas: 2}}
    """

    assert list(alerts(render_catalog(fixed), "plain")) == ["ModelP99LatencyHigh", "ModelErrorRateHigh"]


def test_autoscaled_model_whose_server_counts_nonfinite_outputs_has_every_alert(prod_render: Render) -> None:
    assert list(alerts(prod_render, "text-embedder")) == [
        "ModelP99LatencyHigh",
        "ModelErrorRateHigh",
        "ModelQueueSaturated",
        "ModelAutoscalerAtMax",
        "ModelNonFiniteOutputs",
    ]


def test_every_alert_has_severity_for_and_annotations(prod_render: Render) -> None:
    for model in ("llm-chat", "vision-detector", "text-embedder"):
        for rule in alerts(prod_render, model).values():
            assert rule["labels"]["severity"] in {"warning", "critical"}
            assert rule["labels"]["model"] == model
            assert rule["for"]
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_latency_and_error_thresholds_come_from_the_models_analysis(prod_render: Render) -> None:
    vision = alerts(prod_render, "vision-detector")

    assert "> 250)" in vision["ModelP99LatencyHigh"]["expr"]
    assert "[10m]" in vision["ModelP99LatencyHigh"]["expr"]
    assert vision["ModelP99LatencyHigh"]["for"] == "10m"
    assert "> 0.5)" in vision["ModelErrorRateHigh"]["expr"]
    assert 'destination_workload="vision-detector-v7"' in vision["ModelErrorRateHigh"]["expr"]


def test_traffic_and_queue_alerts_are_written_per_version(prod_render: Render) -> None:
    per_version = [(r["alert"], r["labels"].get("version")) for r in rules(prod_render, "llm-chat")]

    assert per_version == [
        ("ModelP99LatencyHigh", "v1"),
        ("ModelErrorRateHigh", "v1"),
        ("ModelQueueSaturated", "v1"),
        ("ModelP99LatencyHigh", "v2"),
        ("ModelErrorRateHigh", "v2"),
        ("ModelQueueSaturated", "v2"),
        ("ModelAutoscalerAtMax", None),
    ]


def test_queue_saturation_is_the_alert_share_of_the_hpa_target(prod_render: Render) -> None:
    rule = alerts(prod_render, "vision-detector")["ModelQueueSaturated"]

    # analysis.alerts.queueSaturation defaults to 0.9; the target is 8. The version's whole queue over the
    # pods reporting it: the scaler's query divided the way the HPA divides it.
    selector = 'nv_inference_pending_request_count{namespace="ml-serving",app="vision-detector",version="v7"}'
    assert rule["expr"] == (
        f"sum by (namespace, app, version) ({selector}) / count by (namespace, app, version) "
        f"(count by (namespace, app, version, pod) ({selector})) > 7.2"
    )


def test_max_replica_alert_watches_only_the_hpas_that_exist(prod_render: Render) -> None:
    rule = alerts(prod_render, "llm-chat")["ModelAutoscalerAtMax"]

    assert rule["for"] == "15m"
    assert 'horizontalpodautoscaler=~"(llm-chat-v1|llm-chat-v2)"' in rule["expr"]
    assert "kube_horizontalpodautoscaler_spec_max_replicas" in rule["expr"]


EMBEDDER = f"""
embedder:
  server: triton
  serverOverrides:
    metricsPort: 8000
    metrics: [nv_inference_pending_request_count, modelstack_nonfinite_outputs_total]
  analysis: {{window: 2m, alerts: {{queueSaturation: 0.5, maxReplicasForMinutes: 30}}}}
  autoscaling: {{target: 6}}
  versions:
    v1: {{image: "{IMAGE}", weight: 100, resources: {{cpu: "1", memory: 1Gi}}, replicas: {{min: 1, max: 3}}}}
"""


def test_server_declaring_a_nonfinite_counter_gets_a_nonfinite_alert(render_catalog) -> None:
    rule = alerts(render_catalog(EMBEDDER), "embedder")["ModelNonFiniteOutputs"]

    assert rule["expr"] == (
        'sum by (namespace, version) (increase(modelstack_nonfinite_outputs_total{namespace="ml-test",'
        'app="embedder"}[2m])) > 0'
    )
    assert rule["labels"]["severity"] == "critical"


def test_alert_thresholds_of_the_analysis_alerts_block_are_used(render_catalog) -> None:
    rules = alerts(render_catalog(EMBEDDER), "embedder")

    assert rules["ModelQueueSaturated"]["expr"].endswith("> 3")
    assert rules["ModelAutoscalerAtMax"]["for"] == "30m"


def test_invalid_catalog_fails_the_render_with_a_located_error(render_catalog) -> None:
    with pytest.raises(CatalogError) as caught:
        render_catalog(EMBEDDER.replace("{target: 6}", "{target: 6, metric: nv_inference_queue_size}"))

    assert (
        "models.embedder.autoscaling.metric: server triton does not expose 'nv_inference_queue_size'"
        in str(caught.value)
    )
