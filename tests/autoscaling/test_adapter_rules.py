"""Engine prometheus-adapter: this stack's rules, a fragment the platform merges, serve exactly the metrics
the HPAs ask for and discover only the stack's own series."""

from __future__ import annotations

import re
from typing import Any

import yaml

from modelstack.engine.render import Render

from .conftest import ADAPTER, IMAGE, NAMESPACE, of_kind


def fragments(render: Render) -> list[dict[str, Any]]:
    return [
        m.body
        for m in render.manifests
        if m.kind == "ConfigMap" and "modelstack.io/prometheus-adapter-rules" in m.body["metadata"]["labels"]
    ]


def adapter_config(render: Render, namespace: str) -> dict[str, Any]:
    [config_map] = fragments(render)
    assert config_map["metadata"]["namespace"] == namespace
    return yaml.safe_load(config_map["data"]["rules.yaml"])


def series_name(rule: dict[str, Any]) -> str:
    """The Prometheus metric a rule discovers: the name before its seriesQuery's label matchers."""
    match = re.fullmatch(r"([A-Za-z_:][A-Za-z0-9_:]*)\{.*\}", rule["seriesQuery"])
    assert match, rule["seriesQuery"]
    return match.group(1)


def served(rule: dict[str, Any]) -> str:
    """The name the adapter gives the discovered series, computed the way it does (regex replace)."""
    name = series_name(rule)
    assert re.search(rule["name"]["matches"], name), (rule["name"], name)
    return re.sub(rule["name"]["matches"], rule["name"]["as"], name)


def hpa_metrics(render: Render, metric_type: str) -> set[str]:
    key = metric_type.lower()
    return {
        metric[key]["metric"]["name"]
        for hpa in of_kind(render, "HorizontalPodAutoscaler").values()
        for metric in hpa["spec"]["metrics"]
        if metric["type"] == metric_type
    }


def test_prod_adapter_rules_live_in_the_adapter_namespace(prod_adapter_render: Render) -> None:
    config = adapter_config(prod_adapter_render, "monitoring")

    assert set(config) == {"rules", "externalRules"}


def test_the_fragment_is_named_and_labelled_after_the_stack_namespace(prod_adapter_render: Render) -> None:
    [fragment] = fragments(prod_adapter_render)

    # Two stacks sharing the adapter write two fragments, never one ConfigMap both of them own.
    assert fragment["metadata"]["name"] == "modelstack-adapter-rules-ml-serving"
    assert fragment["metadata"]["labels"]["modelstack.io/prometheus-adapter-rules"] == "ml-serving"
    assert list(fragment["data"]) == ["rules.yaml"]


def test_every_rule_of_the_fragment_discovers_only_the_stacks_own_series(prod_adapter_render: Render) -> None:
    config = adapter_config(prod_adapter_render, "monitoring")

    queries = [rule["seriesQuery"] for rule in (*config["rules"], *config["externalRules"])]
    assert queries
    for query in queries:
        assert 'namespace="ml-serving"' in query, query


def test_the_fragment_holds_rules_only_no_other_adapter_settings(prod_adapter_render: Render) -> None:
    # The adapter's own settings (resourceRules, other teams' rules) stay the platform's.
    assert set(adapter_config(prod_adapter_render, "monitoring")) == {"rules", "externalRules"}


def test_keda_stacks_render_no_adapter_rules(prod_render: Render, dev_render: Render) -> None:
    for render in (prod_render, dev_render):
        assert fragments(render) == []
        assert of_kind(render, "HorizontalPodAutoscaler") == {}


def test_every_prod_hpa_metric_is_served_by_exactly_one_pods_rule(prod_adapter_render: Render) -> None:
    rules = adapter_config(prod_adapter_render, "monitoring")["rules"]
    served_names = [served(rule) for rule in rules]

    assert sorted(served_names) == sorted(hpa_metrics(prod_adapter_render, "Pods"))
    assert set(served_names) == {"vllm_num_requests_waiting", "nv_inference_pending_request_count"}


def test_pods_rules_discover_the_raw_series_and_map_them_to_pods(prod_adapter_render: Render) -> None:
    vllm = next(
        r
        for r in adapter_config(prod_adapter_render, "monitoring")["rules"]
        if served(r) == "vllm_num_requests_waiting"
    )

    assert vllm == {
        "seriesQuery": 'vllm:num_requests_waiting{namespace="ml-serving",pod!=""}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": {"matches": "^vllm:num_requests_waiting$", "as": "vllm_num_requests_waiting"},
        "metricsQuery": "sum by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})",
    }


def test_rules_discover_metrics_the_servers_expose(prod_adapter_render: Render, prod_models) -> None:
    exposed = {m for model in prod_models.values() for m in model.server_preset.metrics}

    for rule in adapter_config(prod_adapter_render, "monitoring")["rules"]:
        assert series_name(rule) in exposed


MIXED = f"""
chat:
  server: vllm
  autoscaling: {{target: 2, type: External}}
  versions:
    v1: {{image: "{IMAGE}", weight: 100, resources: {{cpu: "1", memory: 1Gi}}, replicas: {{min: 1, max: 3}}}}
chat-small:
  server: vllm
  autoscaling: {{target: 3}}
  versions:
    v1: {{image: "{IMAGE}", weight: 100, resources: {{cpu: "1", memory: 1Gi}}, replicas: {{min: 1, max: 2}}}}
detector:
  server: tgi
  autoscaling: {{target: 5}}
  versions:
    v1: {{image: "{IMAGE}", weight: 100, resources: {{cpu: "1", memory: 1Gi}}, replicas: 2, precision: bf16}}
"""


def test_external_hpa_metrics_are_served_by_external_rules(render_catalog) -> None:
    render = render_catalog(MIXED, ADAPTER)
    external = adapter_config(render, "metrics")["externalRules"]

    assert (
        [served(r) for r in external]
        == sorted(hpa_metrics(render, "External"))
        == ["vllm_num_requests_waiting"]
    )
    assert (
        external[0]["seriesQuery"]
        == f'vllm:num_requests_waiting{{namespace="{NAMESPACE}",app!="",version!=""}}'
    )
    assert external[0]["resources"] == {"overrides": {"namespace": {"resource": "namespace"}}}


def test_models_without_an_hpa_get_no_rule(render_catalog) -> None:
    render = render_catalog(MIXED, ADAPTER)
    pods_rules = adapter_config(render, "metrics")["rules"]

    # detector autoscales but its only version is fixed at 2: no HPA, so nothing to serve for tgi.
    assert (
        [served(r) for r in pods_rules]
        == sorted(hpa_metrics(render, "Pods"))
        == ["vllm_num_requests_waiting"]
    )
