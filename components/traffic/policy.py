"""`TrafficPolicy`: how one model is reached — Service, routes, mutual TLS and who may call it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi

from components.catalog.model import ModelSpec
from components.catalog.stack_config import StackConfig
from components.kubernetes_object import KubernetesObject
from components.traffic.access import (
    ISTIO_SECURITY,
    authorization_policy_manifest,
    metrics_authorization_policy_manifest,
    metrics_peer_authentication_manifest,
)
from components.traffic.egress import egress_network_policy_manifest, egress_policy_name
from components.traffic.routing import (
    ISTIO_NETWORKING,
    destination_rule_manifest,
    model_service_manifest,
    subset_rule_name,
    version_subset_manifest,
    virtual_service_manifest,
)


@dataclass(frozen=True)
class TrafficPolicyArgs:
    model_name: str
    model: ModelSpec
    stack: StackConfig
    gates: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What must succeed before the weights change: the versions' Deployments and smoke-test Jobs."""


class TrafficPolicy(pulumi.ComponentResource):
    service: KubernetesObject
    destination_rule: KubernetesObject
    subsets: dict[str, KubernetesObject]
    """Each version's subset rule, by version."""
    virtual_service: KubernetesObject

    def __init__(
        self, name: str, args: TrafficPolicyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("modelstack:traffic:TrafficPolicy", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        model, spec, namespace = args.model_name, args.model, args.stack.namespace
        self.service = KubernetesObject(
            model, "v1", "Service", model_service_manifest(model, spec, namespace), child
        )
        self._access(model, spec, args.stack, child)
        # A subset is its version's own object, so the engine orders it against the routes both ways: a new
        # one is created before the VirtualService names it (it depends on it), a retired one is deleted
        # after the VirtualService stopped naming it (deletes run after every update, dependents first).
        self.subsets = {
            version: KubernetesObject(
                f"{subset_rule_name(model, version)}-subset",
                ISTIO_NETWORKING,
                "DestinationRule",
                version_subset_manifest(model, version, namespace),
                child,
            )
            for version in spec.versions
        }
        self.destination_rule = KubernetesObject(
            f"{model}-destination-rule",
            ISTIO_NETWORKING,
            "DestinationRule",
            destination_rule_manifest(model, spec, namespace),
            # Stacks rendered before the split had the subsets in this rule: dropping them waits until every
            # version's own rule exists (istiod keeps the older of two definitions of a subset meanwhile).
            pulumi.ResourceOptions(parent=self, depends_on=list(self.subsets.values())),
        )
        # Weights move only after every gate passed, and routes name only subsets (and a policy) that exist.
        self.virtual_service = KubernetesObject(
            f"{model}-virtual-service",
            ISTIO_NETWORKING,
            "VirtualService",
            virtual_service_manifest(model, spec, args.stack),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.service, self.destination_rule, *self.subsets.values(), *args.gates],
            ),
        )
        self.register_outputs({"service": model})

    def _access(self, model: str, spec: ModelSpec, stack: StackConfig, child: pulumi.ResourceOptions) -> None:
        policies = [
            (f"{model}-authorization", authorization_policy_manifest(model, spec, stack)),
            (f"{model}-metrics-authorization", metrics_authorization_policy_manifest(model, spec, stack)),
        ]
        for logical_name, manifest in policies:
            if manifest is None:
                continue
            KubernetesObject(logical_name, ISTIO_SECURITY, "AuthorizationPolicy", manifest, child)
        egress = egress_network_policy_manifest(model, stack.namespace, stack.egress)
        if egress is not None:
            KubernetesObject(
                egress_policy_name(model), "networking.k8s.io/v1", "NetworkPolicy", egress, child
            )
        peer = metrics_peer_authentication_manifest(model, spec, stack)
        if peer is not None:
            KubernetesObject(
                f"{model}-metrics-peer-authentication", ISTIO_SECURITY, "PeerAuthentication", peer, child
            )
