"""Names and hosts of a model's traffic objects: its Service, mesh host, external host and principals."""

from __future__ import annotations

from components.catalog.model import ModelSpec
from components.catalog.stack_config import StackConfig

# Istio's default trust domain; SPIFFE principals are `<trust domain>/ns/<namespace>/sa/<account>`.
TRUST_DOMAIN = "cluster.local"
MESH_GATEWAY = "mesh"


def model_service_name(model: str) -> str:
    """`<model>`: the Service over all versions, host of the VirtualService and DestinationRule."""
    return model


def mesh_host(model: str, namespace: str) -> str:
    return f"{model_service_name(model)}.{namespace}.svc.cluster.local"


def version_endpoint(model: str, version: str, namespace: str, port: int) -> str:
    """URL of one version's own Service, which bypasses the weighted routes (what smoke tests call)."""
    return f"http://{model}-{version}.{namespace}.svc.cluster.local:{port}"


def external_host(model: str, spec: ModelSpec, stack: StackConfig) -> str | None:
    """The host an exposed model answers on at the gateway (default `<model>.<istio.domain>`)."""
    if spec.expose is None:
        return None
    return spec.expose.host or f"{model}.{stack.istio.domain}"


def smoke_service_account_name(model: str) -> str:
    """`<model>-smoke`: identity of the smoke-test Jobs, allowed to call the model's versions directly."""
    return f"{model}-smoke"


def principal(namespace: str, service_account: str) -> str:
    return f"{TRUST_DOMAIN}/ns/{namespace}/sa/{service_account}"


def gateway_principal(stack: StackConfig) -> str:
    namespace, account = stack.istio.gateway_service_account.split("/", 1)
    return principal(namespace, account)


def golden_evaluator_name(model: str) -> str:
    """`<model>-golden-eval`: the golden-set evaluator's Deployment, identity, scrape and access objects."""
    return f"{model}-golden-eval"
