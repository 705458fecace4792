"""The VirtualService and DestinationRule of each model, asserted on rendered objects."""

from __future__ import annotations

from components.traffic.routing import destination_rule_manifest, virtual_service_manifest
from tests.conftest import objects_of_kind

from .conftest import model_of


def _routes(render, model):
    return objects_of_kind(render, "VirtualService")[model]["spec"]["http"]


def test_match_routes_come_before_the_weighted_route(dev_render):
    routes = _routes(dev_render, "llm-chat")
    assert [r["name"] for r in routes] == ["pin-v2", "weighted"]


def test_header_match_pins_requests_to_its_version(dev_render):
    pin = _routes(dev_render, "llm-chat")[0]
    assert pin["match"] == [{"headers": {"x-model-version": {"exact": "v2"}}}]
    assert [d["destination"]["subset"] for d in pin["route"]] == ["v2"]
    assert "weight" not in pin["route"][0]


def test_weighted_route_carries_the_catalog_weights(dev_render):
    weighted = _routes(dev_render, "llm-chat")[-1]
    assert {d["destination"]["subset"]: d["weight"] for d in weighted["route"]} == {"v1": 90, "v2": 10}
    assert {d["destination"]["host"] for d in weighted["route"]} == {"llm-chat.ml-dev.svc.cluster.local"}


def test_every_route_has_the_model_timeout_and_idempotent_retries(dev_render):
    for route in _routes(dev_render, "llm-chat"):
        assert route["timeout"] == "120s"
        assert route["retries"] == {
            "attempts": 2,
            "perTryTimeout": "60s",
            "retryOn": "connect-failure,refused-stream,unavailable",
        }


def test_version_at_weight_zero_gets_no_destination(catalog_with, dev_stack):
    def dark_launch(data):
        versions = data["models"]["llm-chat"]["versions"]
        versions["v1"]["weight"], versions["v2"]["weight"] = 100, 0

    spec = model_of(catalog_with(dark_launch), "llm-chat")
    routes = virtual_service_manifest("llm-chat", spec, dev_stack)["spec"]["http"]
    assert [d["destination"]["subset"] for d in routes[-1]["route"]] == ["v1"]
    assert routes[0]["route"][0]["destination"]["subset"] == "v2"  # QA can still pin itself to v2


def test_mirror_sends_a_percentage_to_a_subset(catalog_with, dev_stack):
    def mirror(data):
        data["models"]["llm-chat"].setdefault("traffic", {})["mirror"] = {"version": "v2", "percent": 25}

    spec = model_of(catalog_with(mirror), "llm-chat")
    weighted = virtual_service_manifest("llm-chat", spec, dev_stack)["spec"]["http"][-1]
    assert weighted["mirror"] == {"host": "llm-chat.ml-dev.svc.cluster.local", "subset": "v2"}
    assert weighted["mirrorPercentage"] == {"value": 25}


def test_exposed_model_answers_on_its_external_host_through_the_gateway(dev_render):
    spec = objects_of_kind(dev_render, "VirtualService")["llm-chat"]["spec"]
    assert spec["hosts"] == ["llm-chat.ml-dev.svc.cluster.local", "chat.models.example.com"]
    assert spec["gateways"] == ["istio-ingress/dev-gateway", "mesh"]


def test_external_host_defaults_to_the_model_under_the_stack_domain(catalog_with, dev_stack):
    def expose(data):
        data["models"]["text-embedder"]["expose"] = {}

    spec = model_of(catalog_with(expose), "text-embedder")
    hosts = virtual_service_manifest("text-embedder", spec, dev_stack)["spec"]["hosts"]
    assert hosts == ["text-embedder.ml-dev.svc.cluster.local", "text-embedder.models.dev.internal"]


def test_unexposed_model_is_reachable_in_the_mesh_only(dev_render):
    spec = objects_of_kind(dev_render, "VirtualService")["vision-detector"]["spec"]
    assert spec["hosts"] == ["vision-detector.ml-dev.svc.cluster.local"]
    assert "gateways" not in spec


def test_exposed_path_prefix_restricts_gateway_requests_only(catalog_with, dev_stack):
    def prefix(data):
        data["models"]["llm-chat"]["expose"]["pathPrefix"] = "/chat"

    spec = model_of(catalog_with(prefix), "llm-chat")
    weighted = virtual_service_manifest("llm-chat", spec, dev_stack)["spec"]["http"][-1]
    assert weighted["match"] == [
        {"gateways": ["mesh"]},
        {"gateways": ["istio-ingress/dev-gateway"], "uri": {"prefix": "/chat"}},
    ]


def test_model_service_selects_every_version_of_the_model(dev_render):
    service = objects_of_kind(dev_render, "Service")["llm-chat"]["spec"]
    assert service["selector"] == {"app": "llm-chat"}
    assert service["ports"] == [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]


def test_each_version_defines_its_own_subset_of_the_model_host_by_label(dev_render):
    rules = objects_of_kind(dev_render, "DestinationRule")
    for version in ("v1", "v2"):
        rule = rules[f"llm-chat-{version}"]["spec"]
        assert rule == {
            "host": "llm-chat.ml-dev.svc.cluster.local",
            "subsets": [{"name": version, "labels": {"version": version}}],
        }


def test_only_the_models_rule_carries_a_traffic_policy_and_it_defines_no_subset(dev_render):
    """istiod merges rules of one host: subsets are concatenated, the top-level policy is taken from the
    rule that has one (pilot/pkg/model/destination_rule.go, mergeDestinationRule)."""
    rules = {
        n: r["spec"]
        for n, r in objects_of_kind(dev_render, "DestinationRule").items()
        if n.startswith("llm-chat")
    }
    assert sorted(rules) == ["llm-chat", "llm-chat-v1", "llm-chat-v2"]
    assert [n for n, spec in rules.items() if "trafficPolicy" in spec] == ["llm-chat"]
    assert "subsets" not in rules["llm-chat"]


def test_destination_rule_uses_mesh_tls_and_the_documented_defaults(dev_render):
    policy = objects_of_kind(dev_render, "DestinationRule")["vision-detector"]["spec"]["trafficPolicy"]
    assert policy["tls"] == {"mode": "ISTIO_MUTUAL"}
    assert policy["connectionPool"] == {
        "tcp": {"maxConnections": 1024},
        "http": {"http1MaxPendingRequests": 256, "http2MaxRequests": 1024},
    }
    assert policy["outlierDetection"] == {
        "consecutive5xxErrors": 5,
        "interval": "10s",
        "baseEjectionTime": "30s",
        "maxEjectionPercent": 50,
    }


def test_destination_rule_passes_catalog_pool_limits(catalog_with, dev_stack):
    def limits(data):
        data["models"]["llm-chat"]["traffic"]["connectionPool"] = {"maxRequestsPerConnection": 8}

    spec = model_of(catalog_with(limits), "llm-chat")
    pool = destination_rule_manifest("llm-chat", spec, "ml-dev")["spec"]["trafficPolicy"]["connectionPool"]
    assert pool["http"]["maxRequestsPerConnection"] == 8
