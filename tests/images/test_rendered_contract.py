"""The serving contract the image e2e test checks the image against, derived from the dev render (no
Docker): what it reads from the objects, and the clear failures where the render lacks something."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelstack.engine.render import Render, write_render
from tests.integration.rendered_contract import (
    ContractError,
    HttpEndpoint,
    RenderedContract,
    derive_contract,
    load_render,
    selected_metrics,
)

DEPLOYMENT = "text-embedder-v1"
Objects = list[dict[str, Any]]


def objects_of(render: Render) -> Objects:
    """A private copy of the render's objects, safe to edit."""
    return copy.deepcopy([m.body for m in render.manifests])


def edit(objects: Objects, kind: str, name: str, change: Callable[[dict[str, Any]], object]) -> Objects:
    [found] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    change(found)
    return objects


def server(deployment: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    [container] = containers
    return container


@pytest.fixture(scope="module")
def contract(dev_render: Render) -> RenderedContract:
    return derive_contract(objects_of(dev_render), dev_render.outputs, DEPLOYMENT)


def test_probes_are_the_deployments_with_named_ports_resolved(contract: RenderedContract) -> None:
    assert contract.liveness == HttpEndpoint(8000, "/v2/health/live")
    assert contract.readiness == HttpEndpoint(8000, "/v2/health/ready")
    assert contract.startup == HttpEndpoint(8000, "/v2/health/ready")
    assert set(contract.probes) == {"liveness", "readiness", "startup"}


def test_metrics_endpoint_is_the_pod_monitors(contract: RenderedContract) -> None:
    assert contract.metrics == (HttpEndpoint(8000, "/metrics"),)
    assert contract.ports == (8000,)


def test_keda_metric_and_the_series_its_trigger_query_selects(contract: RenderedContract) -> None:
    # The dev stack scales with KEDA, whose HPA asks KEDA's metrics server for `s<trigger>-prometheus`.
    assert contract.hpa_metrics == ("s0-prometheus",)
    assert contract.scaling_series == ("nv_inference_pending_request_count",)


def test_hpa_metric_and_the_series_the_adapter_serves_it_from(render_with_engine) -> None:
    render = render_with_engine("dev", "prometheus-adapter")

    found = derive_contract(objects_of(render), render.outputs, DEPLOYMENT)

    assert found.hpa_metrics == ("nv_inference_pending_request_count",)
    assert found.scaling_series == ("nv_inference_pending_request_count",)


def test_alert_metrics_are_those_selected_by_the_models_app_label(
    contract: RenderedContract, dev_render: Render
) -> None:
    [rule] = [
        m.body for m in dev_render.manifests if m.kind == "PrometheusRule" and m.name == "text-embedder"
    ]
    exprs = " ".join(r["expr"] for g in rule["spec"]["groups"] for r in g["rules"])
    assert "istio_requests_total" in exprs and "kube_horizontalpodautoscaler" in exprs

    # Queue saturation and non-finite outputs; istio_* and kube_* come from the sidecar and kube-state-metrics.
    assert contract.alert_metrics == (
        "nv_inference_pending_request_count",
        "modelstack_nonfinite_outputs_total",
    )


def test_declared_metrics_are_the_exported_contracts(contract: RenderedContract) -> None:
    assert "modelstack_nonfinite_outputs_total" in contract.declared_metrics
    assert "nv_gpu_utilization" not in contract.declared_metrics  # a CPU server
    assert set(contract.scaling_series) | set(contract.alert_metrics) <= set(contract.expected_metrics)


def test_identity_filesystem_weights_and_image(contract: RenderedContract) -> None:
    assert contract.run_as == "10001:10001"
    assert contract.read_only_root is True
    assert contract.writable_paths == ("/tmp",)
    assert contract.weights_mount == "/models"
    assert contract.image_repository == "127.0.0.1:5000/modelstack/text-embedder"
    assert contract.model == "text-embedder"


def test_limits_are_the_containers_in_cores_and_bytes(contract: RenderedContract) -> None:
    assert (contract.cpu_limit, contract.memory_limit_bytes) == (1.0, 2**30)


def test_a_missing_memory_limit_is_named(dev_render: Render) -> None:
    message = fails(
        dev_render,
        lambda o: edit(o, "Deployment", DEPLOYMENT, lambda d: server(d)["resources"]["limits"].pop("memory")),
    )

    assert message == "Deployment text-embedder-v1 container server: no resources.limits.memory"


def test_env_resolves_literals_and_config_map_keys(contract: RenderedContract) -> None:
    assert contract.env == {
        "MODEL_PRECISION": "fp32",
        "MODEL_WEIGHTS_PATH": "/models",
        "MODEL_NAME": "text-embedder",  # fromConfig: model_name, through the hashed ConfigMap
    }


def test_a_render_read_back_from_disk_gives_the_same_contract(
    contract: RenderedContract, dev_render: Render, tmp_path: Path
) -> None:
    write_render(dev_render, tmp_path / "render")

    assert derive_contract(*load_render(tmp_path / "render"), DEPLOYMENT) == contract


@pytest.mark.parametrize(
    ("engine", "asked"),
    [("keda", "s0-prometheus"), ("prometheus-adapter", "vllm_num_requests_waiting")],
)
def test_the_vllm_canary_scales_on_its_colon_series(render_with_engine, engine: str, asked: str) -> None:
    render = render_with_engine("dev", engine)
    # HF_TOKEN is a Secret the render cannot hold; without it the rest of llm-chat-v1 derives.
    objects = edit(
        objects_of(render),
        "Deployment",
        "llm-chat-v1",
        lambda d: server(d).update(env=[e for e in server(d)["env"] if e["name"] != "HF_TOKEN"]),
    )

    found = derive_contract(objects, render.outputs, "llm-chat-v1")

    assert found.hpa_metrics == (asked,)
    assert found.scaling_series == ("vllm:num_requests_waiting",)


# --- clear failures ----------------------------------------------------------------------------------


def fails(render: Render, change: Callable[[Objects], object], deployment: str = DEPLOYMENT) -> str:
    objects = objects_of(render)
    change(objects)
    with pytest.raises(ContractError) as caught:
        derive_contract(objects, render.outputs, deployment)
    return str(caught.value)


def test_a_missing_probe_is_named(dev_render: Render) -> None:
    message = fails(
        dev_render, lambda o: edit(o, "Deployment", DEPLOYMENT, lambda d: server(d).pop("livenessProbe"))
    )

    assert message == "Deployment text-embedder-v1 container server: no livenessProbe"


def test_a_probe_on_an_undeclared_port_name_is_named(dev_render: Render) -> None:
    def elsewhere(deployment: dict[str, Any]) -> None:
        server(deployment)["readinessProbe"]["httpGet"]["port"] = "admin"

    message = fails(dev_render, lambda o: edit(o, "Deployment", DEPLOYMENT, elsewhere))

    assert "readinessProbe: port 'admin' is not a named port of the container ({'http': 8000})" in message


def test_a_missing_autoscaler_is_named(dev_render: Render) -> None:
    def without_scaler(objects: Objects) -> None:
        objects[:] = [o for o in objects if o["kind"] != "ScaledObject"]

    assert fails(dev_render, without_scaler) == (
        "0 autoscalers (HorizontalPodAutoscaler or ScaledObject) scale Deployment text-embedder-v1, not one"
    )


def test_an_hpa_beside_the_scaled_object_is_named(dev_render: Render, render_with_engine) -> None:
    [hpa] = [
        o
        for o in objects_of(render_with_engine("dev", "prometheus-adapter"))
        if o["kind"] == "HorizontalPodAutoscaler" and o["metadata"]["name"] == DEPLOYMENT
    ]

    message = fails(dev_render, lambda o: o.append(hpa))

    assert message.startswith("2 autoscalers (HorizontalPodAutoscaler or ScaledObject) scale Deployment")


def test_a_trigger_query_selecting_nothing_of_the_pods_is_named(dev_render: Render) -> None:
    def elsewhere(scaled: dict[str, Any]) -> None:
        scaled["spec"]["triggers"][0]["metadata"]["query"] = 'sum(queue{app="other"})'

    message = fails(dev_render, lambda o: edit(o, "ScaledObject", DEPLOYMENT, elsewhere))

    assert message == (
        "ScaledObject text-embedder-v1: trigger 0's query selects no metric of the pods of Deployment "
        "text-embedder-v1 by their app label"
    )


def test_an_hpa_metric_no_adapter_rule_serves_is_named(render_with_engine) -> None:
    render = render_with_engine("dev", "prometheus-adapter")

    def renamed(hpa: dict[str, Any]) -> None:
        hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] = "queue_depth"

    message = fails(render, lambda o: edit(o, "HorizontalPodAutoscaler", DEPLOYMENT, renamed))

    assert "asks for ['queue_depth'], which no prometheus-adapter rule in the render serves" in message


def test_rules_without_a_metric_of_the_server_are_a_failure(dev_render: Render) -> None:
    def only_traffic_alerts(rule: dict[str, Any]) -> None:
        [group] = rule["spec"]["groups"]
        group["rules"] = [r for r in group["rules"] if "app=" not in r["expr"]]

    message = fails(dev_render, lambda o: edit(o, "PrometheusRule", "text-embedder", only_traffic_alerts))

    assert message == (
        "no PrometheusRule expr selects a metric of the pods of Deployment text-embedder-v1 "
        'by app="text-embedder"'
    )


def test_weights_mounted_writable_are_refused(dev_render: Render) -> None:
    def writable(deployment: dict[str, Any]) -> None:
        for mount in server(deployment)["volumeMounts"]:
            mount.pop("readOnly", None)

    message = fails(dev_render, lambda o: edit(o, "Deployment", DEPLOYMENT, writable))

    assert message.endswith("the weights mount /models is not readOnly")


def test_an_unresolvable_secret_is_named(dev_render: Render) -> None:
    message = fails(dev_render, lambda o: None, deployment="llm-chat-v1")

    assert message == (
        "Deployment llm-chat-v1 container server: env HF_TOKEN: secretKeyRef huggingface/token cannot be "
        "resolved: the render holds no Secret huggingface in ml-dev"
    )


# --- PromQL selectors --------------------------------------------------------------------------------

POD = {"namespace": "ml", "app": "m", "version": "v1"}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('sum(rate(a_total{namespace="ml",app="m"}[5m])) / sum(b{app=~"m|n"})', ["a_total", "b"]),
        ('a{app="other"} + b{namespace="prod",app="m"} + c{app="m",version!="v1"}', []),
        ('istio_requests_total{destination_workload=~"(m-v1)"} + kube_x{horizontalpodautoscaler="m-v1"}', []),
        ('{__name__="d", app="m", version=~"v.*"}', ["d"]),
        ('up{app="m"} == 0 or scrape_samples_scraped{app="m"} == 0', []),
        ('e{app="m", path="/a,b"}', ["e"]),
    ],
)
def test_selected_metrics(expr: str, expected: list[str]) -> None:
    assert selected_metrics(expr, POD) == expected
