"""Who may call: namespace-wide STRICT mTLS and one ALLOW AuthorizationPolicy per model."""

from __future__ import annotations

from components.traffic.access import authorization_policy_manifest
from modelstack.engine.render import Render
from tests.conftest import objects_of_kind

from .conftest import model_of

TRAFFIC_KINDS = {"VirtualService", "DestinationRule", "PeerAuthentication", "AuthorizationPolicy", "Job"}


def test_namespace_gets_one_strict_default_peer_authentication(dev_render):
    defaults = [m for m in dev_render.manifests if m.kind == "PeerAuthentication" and m.name == "default"]
    assert len(defaults) == 1
    assert defaults[0].namespace == "ml-dev"
    assert defaults[0].body["spec"] == {"mtls": {"mode": "STRICT"}}
    assert defaults[0].api_version == "security.istio.io/v1"


def test_callers_become_principals_or_namespaces(dev_render):
    policy = objects_of_kind(dev_render, "AuthorizationPolicy")["llm-chat"]["spec"]
    assert policy["action"] == "ALLOW"
    assert policy["selector"] == {"matchLabels": {"app": "llm-chat"}}
    assert policy["rules"] == [
        {
            "from": [
                {
                    "source": {
                        "principals": [
                            "cluster.local/ns/istio-ingress/sa/istio-ingressgateway",
                            "cluster.local/ns/support-web/sa/chat-frontend",
                        ]
                    }
                },
                {"source": {"namespaces": ["batch-jobs"]}},
            ]
        }
    ]


def test_gateway_is_allowed_only_for_exposed_models(dev_render):
    gateway = "cluster.local/ns/istio-ingress/sa/istio-ingressgateway"
    policies = objects_of_kind(dev_render, "AuthorizationPolicy")
    principals = {
        name: [
            p
            for rule in body["spec"].get("rules", [])
            for s in rule.get("from", [])
            for p in s["source"].get("principals", [])
        ]
        for name, body in policies.items()
    }
    assert gateway in principals["llm-chat"]
    assert gateway not in principals["text-embedder"]


def test_smoke_runner_may_call_a_model_with_smoke_tests(dev_render):
    policy = objects_of_kind(dev_render, "AuthorizationPolicy")["vision-detector"]["spec"]
    assert (
        "cluster.local/ns/ml-dev/sa/vision-detector-smoke"
        in policy["rules"][0]["from"][0]["source"]["principals"]
    )


def test_model_without_callers_or_exposure_gets_a_policy_without_rules(catalog_with, dev_stack):
    def nobody(data):
        data["models"]["text-embedder"].pop("callers")
        data["models"]["text-embedder"].pop("analysis")  # its golden-set evaluator is a caller too

    spec = model_of(catalog_with(nobody), "text-embedder")
    policy = authorization_policy_manifest("text-embedder", spec, dev_stack)
    # An ALLOW policy whose rules are unset never matches, so the selected pods accept no caller.
    assert policy["spec"] == {"selector": {"matchLabels": {"app": "text-embedder"}}, "action": "ALLOW"}


def test_metrics_scrapes_are_allowed_on_the_metrics_port_only(dev_render):
    policy = objects_of_kind(dev_render, "AuthorizationPolicy")["vision-detector-metrics"]["spec"]
    assert policy["rules"] == [
        {"to": [{"operation": {"ports": ["8002"], "methods": ["GET"], "paths": ["/metrics"]}}]}
    ]


def test_separate_metrics_port_accepts_plain_text_scrapes(dev_render):
    peers = objects_of_kind(dev_render, "PeerAuthentication")
    assert peers["vision-detector-metrics"]["spec"]["portLevelMtls"] == {"8002": {"mode": "PERMISSIVE"}}
    assert "llm-chat-metrics" not in peers  # vLLM serves metrics on its serving port, which stays STRICT


def test_rendered_traffic_objects_pass_the_shared_validator(render_of, manifest_validator, tmp_path):
    for stack in ("dev", "prod"):
        render = render_of(stack)
        ours = [m for m in render.manifests if m.kind in TRAFFIC_KINDS]
        assert {m.kind for m in ours} == TRAFFIC_KINDS
        result = manifest_validator(Render(ours, {}, []), tmp_path / stack)
        assert result.returncode == 0, result.stdout
