"""Engine prometheus-adapter: one `autoscaling/v2` HPA per autoscaled model version, on that version's own
queue."""

from __future__ import annotations

import pytest

from components.autoscaling.hpa import quantity
from components.catalog.model import is_autoscaled
from components.naming import version_object_name
from modelstack.engine.render import Render
from tests.declared import recorded_declarations

from .conftest import ADAPTER, IMAGE, of_kind


def test_every_autoscaled_prod_version_has_an_hpa_named_after_it(
    prod_adapter_render: Render, prod_models
) -> None:
    hpas = of_kind(prod_adapter_render, "HorizontalPodAutoscaler")
    autoscaled = {
        version_object_name(m, v)
        for m, model in prod_models.items()
        for v, spec in model.versions.items()
        if is_autoscaled(model, spec)
    }

    assert set(hpas) == autoscaled == {"llm-chat-v1", "llm-chat-v2", "vision-detector-v7", "text-embedder-v1"}
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}


# Every version of the repository's catalog is autoscaled, so fixed sizes are shown on a small catalog:
# a model without autoscaling, and a version of an autoscaled model whose min equals its max.
FIXED = f"""
plain:
  server: triton
  versions:
    v1: {{image: "{IMAGE}", weight: 100, resources: {{cpu: "1", memory: 1Gi}}, replicas: 2}}
pinned:
  server: triton
  autoscaling: {{target: 4}}
  versions:
    v1: {{image: "{IMAGE}", weight: 100, resources: {{cpu: "1", memory: 1Gi}}, replicas: {{min: 3, max: 3}}}}
"""


def test_a_fixed_size_version_gets_no_hpa(render_catalog) -> None:
    render = render_catalog(FIXED, ADAPTER)

    assert of_kind(render, "HorizontalPodAutoscaler") == {}
    deployments = of_kind(render, "Deployment")
    assert deployments["plain-v1"]["spec"]["replicas"] == 2
    assert deployments["pinned-v1"]["spec"]["replicas"] == 3


def test_hpa_managed_deployments_leave_replicas_to_the_hpa(prod_adapter_render: Render) -> None:
    deployments = of_kind(prod_adapter_render, "Deployment")

    hpas = of_kind(prod_adapter_render, "HorizontalPodAutoscaler")
    assert hpas
    for name in hpas:
        assert "replicas" not in deployments[name]["spec"], name


def test_canary_scales_on_the_vllm_queue_served_without_a_colon(prod_adapter_render: Render) -> None:
    hpa = of_kind(prod_adapter_render, "HorizontalPodAutoscaler")["llm-chat-v2"]

    assert hpa["spec"]["metrics"] == [
        {
            "type": "Pods",
            "pods": {
                "metric": {"name": "vllm_num_requests_waiting"},
                "target": {"type": "AverageValue", "averageValue": "4"},
            },
        }
    ]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 4)


def test_triton_model_scales_on_its_pending_request_count(prod_adapter_render: Render) -> None:
    metric = of_kind(prod_adapter_render, "HorizontalPodAutoscaler")["vision-detector-v7"]["spec"]["metrics"][
        0
    ]

    assert metric["pods"]["metric"] == {"name": "nv_inference_pending_request_count"}
    assert metric["pods"]["target"]["averageValue"] == "8"


def test_default_behavior_scales_up_fast_and_down_slowly(prod_adapter_render: Render) -> None:
    behavior = of_kind(prod_adapter_render, "HorizontalPodAutoscaler")["llm-chat-v1"]["spec"]["behavior"]

    assert behavior["scaleUp"] == {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}],
    }
    assert behavior["scaleDown"] == {
        "stabilizationWindowSeconds": 1800,
        "selectPolicy": "Max",
        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}],
    }


CHAT = f"""
chat:
  server: vllm
  autoscaling: {{target: 2.5, type: External, metric: "vllm:num_requests_running",
                behavior: {{scaleDownStabilizationSeconds: 3600, scaleUpPods: 2}}}}
  versions:
    stable:
      image: {IMAGE}
      weight: 100
      resources: {{cpu: "1", memory: 1Gi}}
      replicas: {{min: 3, max: 8, idle: 2}}
    warm:
      image: {IMAGE}
      weight: 0
      resources: {{cpu: "1", memory: 1Gi}}
      replicas: {{min: 3, max: 8, idle: 2}}
    cold:
      image: {IMAGE}
      weight: 0
      resources: {{cpu: "1", memory: 1Gi}}
      replicas: {{min: 3, max: 8}}
"""


@pytest.fixture
def chat_hpas(render_catalog) -> dict[str, dict]:
    return of_kind(render_catalog(CHAT, ADAPTER), "HorizontalPodAutoscaler")


def test_external_metric_selects_the_versions_own_series(chat_hpas) -> None:
    assert chat_hpas["chat-warm"]["spec"]["metrics"] == [
        {
            "type": "External",
            "external": {
                "metric": {
                    "name": "vllm_num_requests_running",
                    "selector": {"matchLabels": {"app": "chat", "version": "warm"}},
                },
                "target": {"type": "AverageValue", "averageValue": "2500m"},
            },
        }
    ]


def test_version_with_traffic_keeps_its_minimum(chat_hpas) -> None:
    assert chat_hpas["chat-stable"]["spec"]["minReplicas"] == 3


def test_version_at_weight_zero_keeps_its_idle_replicas_warm(chat_hpas) -> None:
    assert chat_hpas["chat-warm"]["spec"]["minReplicas"] == 2


def test_version_at_weight_zero_without_idle_shrinks_to_one_replica(chat_hpas) -> None:
    assert chat_hpas["chat-cold"]["spec"]["minReplicas"] == 1
    assert chat_hpas["chat-cold"]["spec"]["maxReplicas"] == 8


def test_catalog_behavior_reaches_the_hpa(chat_hpas) -> None:
    behavior = chat_hpas["chat-stable"]["spec"]["behavior"]

    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 3600
    assert behavior["scaleUp"]["policies"] == [{"type": "Pods", "value": 2, "periodSeconds": 60}]


@pytest.mark.parametrize(("target", "expected"), [(4.0, "4"), (0.5, "500m"), (2.25, "2250m"), (0.001, "1m")])
def test_targets_become_kubernetes_quantities(target: float, expected: str) -> None:
    assert quantity(target) == expected


def test_hpa_is_declared_by_its_model_version_after_its_deployment(monkeypatch, render_catalog) -> None:
    declared = recorded_declarations(monkeypatch)
    render_catalog(CHAT, ADAPTER)

    hpa = declared["HorizontalPodAutoscaler:chat-stable"]
    assert (hpa.parent, hpa.depends_on) == ("ModelVersion:chat-stable", ["Deployment:chat-stable"])
