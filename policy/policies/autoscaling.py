"""Stack policies of autoscaling: an HPA-managed Deployment sets no replicas, and every HPA targets a Deployment of the stack."""

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


def _hpa_targets(resources: Sequence[PolicyResource]) -> dict[tuple[str | None, str], PolicyResource]:
    """(namespace, Deployment name) → the HPA scaling it."""
    targets = {}
    for hpa in resources:
        if not hpa.resource_type.startswith("kubernetes:autoscaling/") or not hpa.resource_type.endswith(
            ":HorizontalPodAutoscaler"
        ):
            continue
        ref = dig(hpa.props, "spec", "scaleTargetRef") or {}
        if ref.get("kind") == "Deployment" and ref.get("name"):
            targets[(resource_namespace(hpa), str(ref["name"]))] = hpa
    return targets


def _hpa_replicas(args: StackValidationArgs, report: ReportViolation) -> None:
    targets = _hpa_targets(args.resources)
    for deployment in args.resources:
        if deployment.resource_type != DEPLOYMENT:
            continue
        hpa = targets.get((resource_namespace(deployment), str(resource_name(deployment))))
        replicas = dig(deployment.props, "spec", "replicas")
        if hpa is not None and replicas is not None:
            report(
                f"It sets spec.replicas: {replicas} although HorizontalPodAutoscaler "
                f"{object_name(hpa.props)} manages it; every update would reset the replica count the HPA chose. Omit spec.replicas.",
                deployment.urn,
            )


hpa_managed_without_replicas = StackValidationPolicy(
    name="hpa-managed-deployments-omit-replicas",
    description="A Deployment scaled by a HorizontalPodAutoscaler does not set .spec.replicas.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_hpa_replicas,
)


def _dangling_hpas(args: StackValidationArgs, report: ReportViolation) -> None:
    deployments = {(resource_namespace(r), str(resource_name(r))) for r in args.resources if r.resource_type == DEPLOYMENT}
    for (namespace, name), hpa in _hpa_targets(args.resources).items():
        if (namespace, name) not in deployments:
            report(
                f"It scales Deployment {namespace}/{name}, which is not in the stack.",
                hpa.urn,
            )


hpa_targets_exist = StackValidationPolicy(
    name="hpa-targets-exist",
    description="Every HorizontalPodAutoscaler scales a Deployment of the stack.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_dangling_hpas,
)
