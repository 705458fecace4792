"""Stack policies of Istio routing: every subset a VirtualService routes to is defined by a DestinationRule,
and the DestinationRules of one host merge without istiod dropping part of them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from .props import (
    DESTINATION_RULE_KIND,
    VIRTUAL_SERVICE_KIND,
    dig,
    is_istio,
    items,
    resource_namespace,
)


def full_host(host: str, namespace: str | None) -> str:
    """Istio's short-name rule: `svc` and `svc.ns` are completed in the namespace of the rule."""
    parts = host.split(".")
    if len(parts) == 1 and namespace:
        return f"{host}.{namespace}.svc.cluster.local"
    if len(parts) == 2:
        return f"{host}.svc.cluster.local"
    return host


def _route_destinations(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for protocol in ("http", "tls", "tcp"):
        for route in items(spec.get(protocol)):
            for target in items(route.get("route")):
                if isinstance(dig(target, "destination"), Mapping):
                    yield target["destination"]
            if isinstance(route.get("mirror"), Mapping):
                yield route["mirror"]
            for mirror in items(route.get("mirrors")):
                if isinstance(dig(mirror, "destination"), Mapping):
                    yield mirror["destination"]


def _defined_subsets(resources: Sequence[PolicyResource]) -> dict[str, set[str]]:
    subsets: dict[str, set[str]] = {}
    for rule in resources:
        if not is_istio(rule.props, DESTINATION_RULE_KIND):
            continue
        host = full_host(str(dig(rule.props, "spec", "host") or ""), resource_namespace(rule))
        names = {
            str(s.get("name")) for s in items(dig(rule.props, "spec", "subsets")) if isinstance(s, Mapping)
        }
        subsets.setdefault(host, set()).update(names)
    return subsets


def _undefined_subsets(args: StackValidationArgs, report: ReportViolation) -> None:
    defined = _defined_subsets(args.resources)
    for service in args.resources:
        if not is_istio(service.props, VIRTUAL_SERVICE_KIND):
            continue
        for destination in _route_destinations(dig(service.props, "spec") or {}):
            subset = destination.get("subset")
            if not subset:
                continue
            host = full_host(str(destination.get("host") or ""), resource_namespace(service))
            if subset not in defined.get(host, set()):
                known = ", ".join(sorted(defined.get(host, set()))) or "no DestinationRule"
                report(
                    f"It routes to subset {subset!r} of {host}, which no DestinationRule "
                    f"defines (defined: {known}); Envoy would answer 503 for that route.",
                    service.urn,
                )


virtual_service_subsets_defined = StackValidationPolicy(
    name="virtualservice-subsets-defined",
    description="Every subset a VirtualService routes or mirrors to is defined by a DestinationRule for that host.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_undefined_subsets,
)


def _merged_rules(resources: Sequence[PolicyResource]) -> dict[tuple[str, str], list[PolicyResource]]:
    """The DestinationRules istiod merges into one: same namespace and host, no workload selector."""
    groups: dict[tuple[str, str], list[PolicyResource]] = {}
    for rule in resources:
        if not is_istio(rule.props, DESTINATION_RULE_KIND) or dig(rule.props, "spec", "workloadSelector"):
            continue
        namespace = resource_namespace(rule) or ""
        host = full_host(str(dig(rule.props, "spec", "host") or ""), namespace)
        groups.setdefault((namespace, host), []).append(rule)
    return groups


def _rule_name(rule: PolicyResource) -> str:
    return str(dig(rule.props, "metadata", "name"))


def _lossy_merges(args: StackValidationArgs, report: ReportViolation) -> None:
    """istiod concatenates the subsets of one host's rules and keeps only the first top-level traffic
    policy and the first subset of a name, by creation time (pilot/pkg/model/destination_rule.go)."""
    for (_, host), rules in _merged_rules(args.resources).items():
        with_policy = [r for r in rules if dig(r.props, "spec", "trafficPolicy")]
        for rule in with_policy[1:]:
            report(
                f"It sets a top-level trafficPolicy for {host}, as DestinationRule {_rule_name(with_policy[0])} "
                "does; istiod merges the two and keeps only the older rule's policy. Keep the policy in one "
                "rule of the host.",
                rule.urn,
            )
        first_of: dict[str, str] = {}
        for rule in rules:
            for subset in items(dig(rule.props, "spec", "subsets")):
                name = str(subset.get("name")) if isinstance(subset, Mapping) else ""
                if name in first_of:
                    report(
                        f"It defines subset {name!r} of {host}, as DestinationRule {first_of[name]} does; "
                        "istiod keeps only the older definition. Define each subset once.",
                        rule.urn,
                    )
                else:
                    first_of[name] = _rule_name(rule)


destination_rules_merge_whole = StackValidationPolicy(
    name="destinationrules-merge-whole",
    description=(
        "The DestinationRules of one host set at most one top-level trafficPolicy and define each subset once."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_lossy_merges,
)
