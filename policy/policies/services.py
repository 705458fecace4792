"""No public services: a Service is never exposed outside the cluster except through the Istio gateway."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from .props import (
    DEFAULT_GATEWAY_NAMESPACES,
    SERVICE,
    dig,
)


def _public_service(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SERVICE:
        return
    kind = dig(args.props, "spec", "type")
    namespace = dig(args.props, "metadata", "namespace")
    allowed = tuple(args.get_config().get("gatewayNamespaces") or DEFAULT_GATEWAY_NAMESPACES)
    if kind in ("LoadBalancer", "NodePort") and namespace not in allowed:
        report(
            f"A Service of type {kind} exposes a model outside the mesh. Models are "
            f"reached through the Istio gateway (namespaces {', '.join(allowed)}); use a ClusterIP Service and `expose:`.",
            None,
        )


no_public_services = ResourceValidationPolicy(
    name="no-public-services-outside-gateway",
    description="No LoadBalancer or NodePort Services except in the Istio gateway's namespace.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_public_service,
    config_schema=PolicyConfigSchema(
        properties={"gatewayNamespaces": {"type": "array", "items": {"type": "string"}}}
    ),
)
