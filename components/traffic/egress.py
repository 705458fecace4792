"""What a model's pods may connect to: a default-deny egress NetworkPolicy per model.

A model server holds registry-pulled weights, and often tokens mounted from Secrets; a compromised or
misbehaving server must not be able to send them anywhere. The policy selects the model's serving pods
(`app: <model>`, the label its AuthorizationPolicy selects; smoke-test Jobs do not carry it), denies all
egress (`policyTypes: [Egress]`, networking.k8s.io/v1, Kubernetes 1.33) and allows only the peers the
stack declares: the cluster DNS, istiod (the sidecar's xDS and certificates, port 15012, "Ports used by
Istio", istio.io 1.30), the weights store and anything listed in `egress.allow`. Replies to connections
the pod accepted are not egress, so serving is unaffected.
"""

from __future__ import annotations

from typing import Any

from components.catalog.stack_config import EgressConfig, EgressPeer
from components.naming import model_labels

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by the API server on every namespace (Kubernetes ≥ 1.22), so a namespace can be selected by name."""


def egress_policy_name(model: str) -> str:
    return f"{model}-egress"


def _rule(peer: EgressPeer) -> dict[str, Any]:
    if peer.cidr is not None:
        to: dict[str, Any] = {"ipBlock": {"cidr": peer.cidr}}
    else:
        to = {}
        if peer.namespace is not None:
            to["namespaceSelector"] = {"matchLabels": {NAMESPACE_NAME_LABEL: peer.namespace}}
        if peer.pod_labels is not None:
            to["podSelector"] = {"matchLabels": dict(peer.pod_labels)}
    rule: dict[str, Any] = {"to": [to]}
    if peer.ports:
        rule["ports"] = [{"port": p.port, "protocol": p.protocol} for p in peer.ports]
    return rule


def egress_network_policy_manifest(model: str, namespace: str, egress: EgressConfig) -> dict[str, Any] | None:
    """The model's egress allow-list, or None when the stack turns it off (`egress.enabled: false`)."""
    if not egress.enabled:
        return None
    peers = [egress.dns, egress.mesh, *egress.weights_store, *egress.allow]
    return {
        "metadata": {
            "name": egress_policy_name(model),
            "namespace": namespace,
            "labels": model_labels(model),
        },
        "spec": {
            "podSelector": {"matchLabels": {"app": model}},
            "policyTypes": ["Egress"],
            "egress": [_rule(peer) for peer in peers],
        },
    }
