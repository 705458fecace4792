"""Stack policies of autoscaling: an autoscaled Deployment sets no replicas, has exactly one autoscaler, and
every autoscaler targets a Deployment of the stack.

An autoscaler is an HPA, or a KEDA ScaledObject (which creates and owns an HPA of its own at apply time,
so the stack never shows that one)."""

from __future__ import annotations

from collections.abc import Sequence

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from .props import (
    DEPLOYMENT,
    dig,
    object_name,
    resource_name,
    resource_namespace,
)


def _autoscaler_kind(resource: PolicyResource) -> str | None:
    token = resource.resource_type
    if token.startswith("kubernetes:autoscaling/") and token.endswith(":HorizontalPodAutoscaler"):
        return "HorizontalPodAutoscaler"
    if token.startswith("kubernetes:keda.sh/") and token.endswith(":ScaledObject"):
        return "ScaledObject"
    return None


def _autoscaler_targets(
    resources: Sequence[PolicyResource],
) -> dict[tuple[str | None, str], list[tuple[str, PolicyResource]]]:
    """(namespace, Deployment name) → every (kind, autoscaler) scaling it."""
    targets: dict[tuple[str | None, str], list[tuple[str, PolicyResource]]] = {}
    for resource in resources:
        kind = _autoscaler_kind(resource)
        if kind is None:
            continue
        ref = dig(resource.props, "spec", "scaleTargetRef") or {}
        # KEDA defaults an omitted scaleTargetRef.kind to Deployment; the HPA requires it.
        target_kind = ref.get("kind") or ("Deployment" if kind == "ScaledObject" else None)
        if target_kind == "Deployment" and ref.get("name"):
            targets.setdefault((resource_namespace(resource), str(ref["name"])), []).append((kind, resource))
    return targets


def _deployments(resources: Sequence[PolicyResource]) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type == DEPLOYMENT]


def _autoscaled_replicas(args: StackValidationArgs, report: ReportViolation) -> None:
    targets = _autoscaler_targets(args.resources)
    for deployment in _deployments(args.resources):
        scalers = targets.get((resource_namespace(deployment), str(resource_name(deployment))))
        replicas = dig(deployment.props, "spec", "replicas")
        if scalers and replicas is not None:
            kind, scaler = scalers[0]
            report(
                f"It sets spec.replicas: {replicas} although {kind} "
                f"{object_name(scaler.props)} manages it; every update would reset the replica count the HPA chose. Omit spec.replicas.",
                deployment.urn,
            )


hpa_managed_without_replicas = StackValidationPolicy(
    name="hpa-managed-deployments-omit-replicas",
    description="A Deployment scaled by a HorizontalPodAutoscaler or a KEDA ScaledObject does not set .spec.replicas.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_autoscaled_replicas,
)


def _single_autoscaler(args: StackValidationArgs, report: ReportViolation) -> None:
    targets = _autoscaler_targets(args.resources)
    for deployment in _deployments(args.resources):
        scalers = targets.get((resource_namespace(deployment), str(resource_name(deployment)))) or []
        if len(scalers) > 1:
            names = ", ".join(f"{kind} {object_name(scaler.props)}" for kind, scaler in scalers)
            report(
                f"It is scaled by {len(scalers)} autoscalers ({names}); they would fight over its replica "
                "count. Keep one: a ScaledObject creates its own HPA, so it never goes with another HPA.",
                deployment.urn,
            )


one_autoscaler_per_deployment = StackValidationPolicy(
    name="one-autoscaler-per-deployment",
    description="A Deployment is scaled by at most one HorizontalPodAutoscaler or KEDA ScaledObject.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_single_autoscaler,
)


def _dangling_autoscalers(args: StackValidationArgs, report: ReportViolation) -> None:
    deployments = {(resource_namespace(r), str(resource_name(r))) for r in _deployments(args.resources)}
    for (namespace, name), scalers in _autoscaler_targets(args.resources).items():
        if (namespace, name) not in deployments:
            for _, scaler in scalers:
                report(f"It scales Deployment {namespace}/{name}, which is not in the stack.", scaler.urn)


hpa_targets_exist = StackValidationPolicy(
    name="hpa-targets-exist",
    description="Every HorizontalPodAutoscaler and KEDA ScaledObject scales a Deployment of the stack.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_dangling_autoscalers,
)
