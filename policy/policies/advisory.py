"""Advisory policies: a PodDisruptionBudget per Deployment, topology spread, and resource requests on every container."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .props import (
    DEPLOYMENT,
    PDB,
    containers,
    dig,
    items,
    pod_policy,
    resource_namespace,
)


def _selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    match = dig(selector, "matchLabels") or {}
    expressions = items(dig(selector, "matchExpressions"))
    return (
        bool(match or expressions)
        and all(labels.get(k) == v for k, v in match.items())
        and all(_expression_holds(e, labels) for e in expressions)
    )


def _expression_holds(expression: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    key, operator = expression.get("key"), expression.get("operator")
    values = [str(v) for v in items(expression.get("values"))]
    return {
        "In": lambda: labels.get(key) in values,
        "NotIn": lambda: labels.get(key) not in values,
        "Exists": lambda: key in labels,
        "DoesNotExist": lambda: key not in labels,
    }.get(str(operator), lambda: False)()


def _missing_pdbs(args: StackValidationArgs, report: ReportViolation) -> None:
    budgets = [r for r in args.resources if r.resource_type == PDB]
    for deployment in args.resources:
        if deployment.resource_type != DEPLOYMENT:
            continue
        labels = dig(deployment.props, "spec", "template", "metadata", "labels") or {}
        covered = any(
            resource_namespace(b) == resource_namespace(deployment)
            and _selects(dig(b.props, "spec", "selector") or {}, labels)
            for b in budgets
        )
        if not covered:
            report(
                "No PodDisruptionBudget selects its pods, so a node drain may evict "
                "every replica of a model at once.",
                deployment.urn,
            )


pdb_per_deployment = StackValidationPolicy(
    name="pdb-per-deployment",
    description="Every Deployment's pods are covered by a PodDisruptionBudget.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_missing_pdbs,
)


def topology_problems(
    _type: str, props: Mapping[str, Any], spec: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterator[str]:
    if not items(spec.get("topologySpreadConstraints")):
        yield "It has no topologySpreadConstraints, so its replicas may all land on one node or zone."


topology_spread = ResourceValidationPolicy(
    name="topology-spread",
    description="Deployments spread their replicas across nodes or zones.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=pod_policy(topology_problems, {DEPLOYMENT}),
)


def request_problems(
    _type: str, props: Mapping[str, Any], spec: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterator[str]:
    for kind, container in containers(spec):
        requests = dig(container, "resources", "requests") or {}
        limits = dig(container, "resources", "limits") or {}
        missing = [f"requests.{r}" for r in ("cpu", "memory") if r not in requests]
        missing += ["limits.memory"] if "memory" not in limits else []
        if missing:
            yield (
                f"The {kind} {container.get('name')!r} does not set {', '.join(missing)}; "
                "unset resources make it the first evicted and let it starve its neighbours."
            )


resource_requests_set = ResourceValidationPolicy(
    name="resource-requests-set",
    description="Every container sets CPU and memory requests and a memory limit.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=pod_policy(request_problems),
)
