"""Who may call a model: mutual TLS for the namespace and one ALLOW AuthorizationPolicy per model.

An ALLOW policy with no rules matches no request, and a workload selected by any ALLOW policy only accepts
what some ALLOW policy matches — so a model without callers and without exposure accepts nobody
(istio/api security/v1beta1/authorization_policy.proto: `rules` "If not set, the match will never occur.
This is equivalent to setting a default of deny for the target workloads if the action is ALLOW.").
"""

from __future__ import annotations

from typing import Any

from components.catalog.model import ModelSpec
from components.catalog.stack_config import Dataplane, StackConfig
from components.naming import PART_OF, model_labels, version_object_name
from components.traffic.mesh import has_permissive_metrics_port
from components.traffic.names import (
    gateway_principal,
    golden_evaluator_name,
    model_service_name,
    principal,
    smoke_service_account_name,
)

ISTIO_SECURITY = "security.istio.io/v1"


def namespace_peer_authentication_manifest(namespace: str) -> dict[str, Any]:
    """`default` without a selector: every workload of the namespace accepts mutual TLS only."""
    return {
        "metadata": {
            "name": "default",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": "pulumi"},
        },
        "spec": {"mtls": {"mode": "STRICT"}},
    }


def metrics_peer_authentication_manifest(
    model: str, spec: ModelSpec, stack: StackConfig
) -> dict[str, Any] | None:
    """Plain-text scrapes of a separate metrics port by a Prometheus outside the mesh (sidecars only).

    None when metrics share the serving port (they are merged onto the sidecar's port 15020, and the
    serving port stays STRICT) and under ambient (Prometheus scrapes from inside the mesh).
    """
    server = spec.server_preset
    if not has_permissive_metrics_port(server, stack.istio):
        return None
    namespace = stack.namespace
    return {
        "metadata": {"name": f"{model}-metrics", "namespace": namespace, "labels": model_labels(model)},
        "spec": {
            "selector": {"matchLabels": {"app": model}},
            "mtls": {"mode": "STRICT"},
            "portLevelMtls": {str(server.metrics_port): {"mode": "PERMISSIVE"}},
        },
    }


def caller_principals(model: str, spec: ModelSpec, stack: StackConfig) -> tuple[list[str], list[str]]:
    """(principals, namespaces) allowed to call: catalog callers, the gateway when exposed, smoke Jobs, the
    golden-set evaluator (components/quality), which calls each version's own Service."""
    principals: list[str] = []
    namespaces: list[str] = []
    for caller in spec.callers:
        if caller.service_account is None:
            namespaces.append(caller.namespace)
        else:
            principals.append(principal(caller.namespace, caller.service_account))
    if spec.expose is not None:
        principals.append(gateway_principal(stack))
    if any(v.smoke_test is not None for v in spec.versions.values()):
        principals.append(principal(stack.namespace, smoke_service_account_name(model)))
    if spec.analysis is not None and spec.analysis.golden_set is not None:
        principals.append(principal(stack.namespace, golden_evaluator_name(model)))
    return sorted(set(principals)), sorted(set(namespaces))


def authorization_policy_manifest(model: str, spec: ModelSpec, stack: StackConfig) -> dict[str, Any]:
    """`<model>`: the callers of the catalog; no callers and no exposure → no rules → nobody may call."""
    principals, namespaces = caller_principals(model, spec, stack)
    sources = []
    if principals:
        sources.append({"source": {"principals": principals}})
    if namespaces:
        sources.append({"source": {"namespaces": namespaces}})
    body: dict[str, Any] = {**_attachment(model, spec, stack), "action": "ALLOW"}
    if sources:
        body["rules"] = [{"from": sources}]
    return {
        "metadata": {"name": model, "namespace": stack.namespace, "labels": model_labels(model)},
        "spec": body,
    }


def _attachment(model: str, spec: ModelSpec, stack: StackConfig) -> dict[str, Any]:
    """Sidecars enforce a policy on the pods it selects. Under ambient the callers' identities are only
    seen by the waypoint (ztunnel sees the waypoint's), so the policy attaches to every Service of the
    model the waypoint serves: the model's and each version's (smoke tests call those)."""
    if stack.istio.dataplane is not Dataplane.AMBIENT:
        return {"selector": {"matchLabels": {"app": model}}}
    services = [model_service_name(model), *(version_object_name(model, v) for v in spec.versions)]
    return {"targetRefs": [{"group": "", "kind": "Service", "name": name} for name in services]}


def metrics_authorization_policy_manifest(
    model: str, spec: ModelSpec, stack: StackConfig
) -> dict[str, Any] | None:
    """`<model>-metrics`: who may reach the server's metrics; None where no scrape passes a policy.

    Sidecars, dedicated metrics port: anyone may GET the metrics path on that port, nothing else. Ambient:
    an L4 policy ztunnel enforces on the pods — Prometheus (by identity) on the metrics port, and the
    waypoint, through which every other caller arrives (its Service-attached policy decides who that may
    be). Merged metrics (port 15020) never pass the sidecar's inbound policy. Kept apart from the callers'
    policy so "who may call the model" reads exactly as the catalog says; ALLOW policies add up.
    """
    server = spec.server_preset
    namespace = stack.namespace
    metadata = {"name": f"{model}-metrics", "namespace": namespace, "labels": model_labels(model)}
    selector = {"matchLabels": {"app": model}}
    if stack.istio.dataplane is Dataplane.AMBIENT:
        prometheus = stack.monitoring.prometheus_service_account
        assert prometheus is not None  # the stack schema requires it under ambient
        rules = [
            {
                "from": [{"source": {"principals": [principal(*prometheus.split("/", 1))]}}],
                "to": [{"operation": {"ports": [str(server.metrics_port)]}}],
            },
            {"from": [{"source": {"principals": [principal(namespace, stack.istio.waypoint)]}}]},
        ]
        return {"metadata": metadata, "spec": {"selector": selector, "action": "ALLOW", "rules": rules}}
    if not has_permissive_metrics_port(server, stack.istio):
        return None
    operation = {"ports": [str(server.metrics_port)], "methods": ["GET"], "paths": [server.metrics_path]}
    return {
        "metadata": metadata,
        "spec": {"selector": selector, "action": "ALLOW", "rules": [{"to": [{"operation": operation}]}]},
    }
