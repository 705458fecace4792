"""Who may call a model: mutual TLS for the namespace and one ALLOW AuthorizationPolicy per model.

An ALLOW policy with no rules matches no request, and a workload selected by any ALLOW policy only accepts
what some ALLOW policy matches — so a model without callers and without exposure accepts nobody
(istio/api security/v1beta1/authorization_policy.proto: `rules` "If not set, the match will never occur.
This is equivalent to setting a default of deny for the target workloads if the action is ALLOW.").
"""

from __future__ import annotations

from typing import Any

from components.catalog.model import ModelSpec
from components.catalog.stack_config import StackConfig
from components.naming import PART_OF, model_labels
from components.traffic.names import gateway_principal, principal, smoke_service_account_name

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
    model: str, spec: ModelSpec, namespace: str
) -> dict[str, Any] | None:
    """Plain-text scrapes of a separate metrics port (Prometheus outside the mesh); None when shared.

    When metrics share the serving port, the port stays STRICT and Prometheus must scrape with mesh
    certificates (Istio's documented setup for STRICT namespaces).
    """
    server = spec.server_preset
    if server.metrics_port == server.port:
        return None
    return {
        "metadata": {"name": f"{model}-metrics", "namespace": namespace, "labels": model_labels(model)},
        "spec": {
            "selector": {"matchLabels": {"app": model}},
            "mtls": {"mode": "STRICT"},
            "portLevelMtls": {str(server.metrics_port): {"mode": "PERMISSIVE"}},
        },
    }


def caller_principals(model: str, spec: ModelSpec, stack: StackConfig) -> tuple[list[str], list[str]]:
    """(principals, namespaces) allowed to call: catalog callers, the gateway when exposed, smoke Jobs."""
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
    return sorted(set(principals)), sorted(set(namespaces))


def authorization_policy_manifest(model: str, spec: ModelSpec, stack: StackConfig) -> dict[str, Any]:
    """`<model>`: the callers of the catalog; no callers and no exposure → no rules → nobody may call."""
    principals, namespaces = caller_principals(model, spec, stack)
    sources = []
    if principals:
        sources.append({"source": {"principals": principals}})
    if namespaces:
        sources.append({"source": {"namespaces": namespaces}})
    body: dict[str, Any] = {"selector": {"matchLabels": {"app": model}}, "action": "ALLOW"}
    if sources:
        body["rules"] = [{"from": sources}]
    return {
        "metadata": {"name": model, "namespace": stack.namespace, "labels": model_labels(model)},
        "spec": body,
    }


def metrics_authorization_policy_manifest(model: str, spec: ModelSpec, namespace: str) -> dict[str, Any]:
    """`<model>-metrics`: anyone may GET the server's metrics path on its metrics port, nothing else.

    Kept apart from the callers' policy so "who may call the model" reads exactly as the catalog says;
    ALLOW policies add up, so scrapes (which autoscaling depends on) keep working.
    """
    server = spec.server_preset
    operation = {"ports": [str(server.metrics_port)], "methods": ["GET"], "paths": [server.metrics_path]}
    return {
        "metadata": {"name": f"{model}-metrics", "namespace": namespace, "labels": model_labels(model)},
        "spec": {
            "selector": {"matchLabels": {"app": model}},
            "action": "ALLOW",
            "rules": [{"to": [{"operation": operation}]}],
        },
    }
