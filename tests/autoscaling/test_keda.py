"""Engine keda (the default): one KEDA ScaledObject per autoscaled version, Prometheus scaler on the
version's own queue, and no HPA of ours beside the one KEDA creates (KEDA v2.20, docs/autoscaling.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.catalog.errors import CatalogError
from components.catalog.model import is_autoscaled
from components.catalog.stack_config import AutoscalingEngine, StackConfig
from components.naming import version_object_name
from components.validation.loader import load_stack_config
from modelstack.engine.render import Render
from tests.declared import recorded_declarations

from .conftest import NAMESPACE, PROMETHEUS, ROOT, of_kind
from .test_hpa import CHAT, FIXED


def test_every_autoscaled_prod_version_has_a_scaled_object_and_no_hpa(
    prod_render: Render, prod_models
) -> None:
    scaled = of_kind(prod_render, "ScaledObject")
    autoscaled = {
        version_object_name(m, v)
        for m, model in prod_models.items()
        for v, spec in model.versions.items()
        if is_autoscaled(model, spec)
    }

    assert (
        set(scaled) == autoscaled == {"llm-chat-v1", "llm-chat-v2", "vision-detector-v7", "text-embedder-v1"}
    )
    # KEDA creates and owns the HPA; one of ours beside it would fight it over the Deployment's scale.
    assert of_kind(prod_render, "HorizontalPodAutoscaler") == {}
    for name, body in scaled.items():
        assert body["apiVersion"] == "keda.sh/v1alpha1"
        assert body["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}


def test_scaled_deployments_leave_replicas_to_the_autoscaler(prod_render: Render) -> None:
    deployments = of_kind(prod_render, "Deployment")

    for name in of_kind(prod_render, "ScaledObject"):
        assert "replicas" not in deployments[name]["spec"], name


def test_a_fixed_size_version_gets_no_scaled_object(render_catalog) -> None:
    render = render_catalog(FIXED)

    assert of_kind(render, "ScaledObject") == {}
    assert of_kind(render, "Deployment")["pinned-v1"]["spec"]["replicas"] == 3


@pytest.fixture
def chat(render_catalog) -> dict[str, dict]:
    return of_kind(render_catalog(CHAT), "ScaledObject")


def test_trigger_asks_the_stacks_prometheus_for_the_versions_whole_queue(chat) -> None:
    [trigger] = chat["chat-warm"]["spec"]["triggers"]

    assert trigger["type"] == "prometheus"
    assert trigger["metadata"]["serverAddress"] == PROMETHEUS
    assert trigger["metadata"]["query"] == (
        "sum by (namespace, app, version) "
        f'(vllm:num_requests_running{{namespace="{NAMESPACE}",app="chat",version="warm"}})'
    )


def test_threshold_is_the_catalog_target_per_replica(chat) -> None:
    [trigger] = chat["chat-stable"]["spec"]["triggers"]

    # AverageValue: the HPA KEDA creates divides the version's queue by its replicas, like the External HPA.
    assert trigger["metricType"] == "AverageValue"
    assert trigger["metadata"]["threshold"] == "2.5"


def test_an_empty_prometheus_answer_is_an_error_not_a_zero_queue(chat) -> None:
    [trigger] = chat["chat-stable"]["spec"]["triggers"]

    # KEDA's default reads "no series" as 0 and scales to the minimum during an outage (kedacore/keda #3065).
    assert trigger["metadata"]["ignoreNullValues"] == "false"


def test_activation_threshold_keeps_keda_default_as_versions_never_scale_to_zero(chat) -> None:
    for body in chat.values():
        assert body["spec"]["minReplicaCount"] >= 1
        assert body["spec"]["triggers"][0]["metadata"]["activationThreshold"] == "0"


def test_replica_counts_follow_the_same_floors_as_the_hpa(chat) -> None:
    counts = {name: (b["spec"]["minReplicaCount"], b["spec"]["maxReplicaCount"]) for name, b in chat.items()}

    # Traffic keeps min; weight 0 keeps `idle` warm, or one replica without it.
    assert counts == {"chat-stable": (3, 8), "chat-warm": (2, 8), "chat-cold": (1, 8)}


def test_catalog_behavior_reaches_the_hpa_keda_creates(chat) -> None:
    behavior = chat["chat-stable"]["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]

    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 3600
    assert behavior["scaleUp"]["policies"] == [{"type": "Pods", "value": 2, "periodSeconds": 60}]


def test_the_hpa_keda_creates_is_named_like_the_version_so_the_at_max_alert_watches_it(
    prod_render: Render,
) -> None:
    [group] = of_kind(prod_render, "PrometheusRule")["llm-chat"]["spec"]["groups"]
    at_max = next(r for r in group["rules"] if r["alert"] == "ModelAutoscalerAtMax")

    for name in ("llm-chat-v1", "llm-chat-v2"):
        config = of_kind(prod_render, "ScaledObject")[name]["spec"]["advanced"][
            "horizontalPodAutoscalerConfig"
        ]
        assert config["name"] == name
    assert 'horizontalpodautoscaler=~"(llm-chat-v1|llm-chat-v2)"' in at_max["expr"]


def test_a_stack_switching_from_the_adapter_hands_its_hpa_over_to_keda(chat) -> None:
    # KEDA's webhook refuses a ScaledObject for a Deployment an HPA already scales unless the HPA it names
    # may be adopted; pulumi up creates the ScaledObject before it deletes the old HPA of the same name.
    for name, body in chat.items():
        assert body["metadata"]["annotations"] == {"scaledobject.keda.sh/transfer-hpa-ownership": "true"}
        assert body["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["name"] == name


def test_scaled_object_is_declared_by_its_model_version_after_its_deployment(
    monkeypatch, render_catalog
) -> None:
    declared = recorded_declarations(monkeypatch)
    render_catalog(CHAT)

    scaled = declared["ScaledObject:chat-stable"]
    assert (scaled.parent, scaled.depends_on) == ("ModelVersion:chat-stable", ["Deployment:chat-stable"])


def test_the_engine_defaults_to_keda() -> None:
    config = StackConfig(namespace="ml")

    assert config.autoscaling.engine is AutoscalingEngine.KEDA
    assert config.autoscaling.prometheus_address == "http://prometheus-operated.monitoring.svc:9090"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "{engine: hpa}",
            "Pulumi.t.yaml:3:36: modelstack:autoscaling.engine: 'hpa' is not allowed — use one of 'keda' or 'prometheus-adapter'",
        ),
        (
            "{prometheusAddress: 'prometheus:9090'}",
            "Pulumi.t.yaml:3:47: modelstack:autoscaling.prometheusAddress: 'prometheus:9090' is not an http(s) URL",
        ),
    ],
)
def test_a_bad_autoscaling_setting_is_a_located_stack_file_error(
    tmp_path: Path, setting: str, message: str
) -> None:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.t.yaml").write_text(
        f"config:\n  modelstack:namespace: ml\n  modelstack:autoscaling: {setting}\n"
    )

    with pytest.raises(CatalogError) as caught:
        load_stack_config(tmp_path, "t")

    assert message in str(caught.value)


def test_an_external_metric_model_scales_on_the_same_query_under_keda(render_catalog) -> None:
    pods = of_kind(render_catalog(CHAT.replace("type: External, ", "")), "ScaledObject")
    external = of_kind(render_catalog(CHAT), "ScaledObject")

    # KEDA serves its own metric: the catalog's Pods/External choice only matters to prometheus-adapter.
    assert pods["chat-warm"]["spec"]["triggers"] == external["chat-warm"]["spec"]["triggers"]
