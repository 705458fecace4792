"""Stack policies: relations between objects (HPA ↔ Deployment, VirtualService ↔ DestinationRule, PDBs)."""

from __future__ import annotations

from typing import Any

import pytest

from .harness import DEPLOYMENT, changed, deployment, stack_violations

HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
VS = "kubernetes:networking.istio.io/v1:VirtualService"
DR = "kubernetes:networking.istio.io/v1:DestinationRule"


def hpa(target: str, namespace: str = "ml") -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": target, "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": 1,
            "maxReplicas": 4,
        },
    }


def without_replicas() -> dict[str, Any]:
    return changed(deployment(), lambda d: d["spec"].pop("replicas"))


def test_hpa_managed_deployment_without_replicas_passes() -> None:
    assert (
        stack_violations(
            "hpa-managed-deployments-omit-replicas", [(DEPLOYMENT, without_replicas()), (HPA, hpa("llm-v1"))]
        )
        == []
    )


def test_hpa_managed_deployment_with_replicas_is_refused_on_the_deployment() -> None:
    [(message, urn)] = stack_violations(
        "hpa-managed-deployments-omit-replicas", [(DEPLOYMENT, deployment()), (HPA, hpa("llm-v1"))]
    )
    assert urn == "urn:0"
    assert "It sets spec.replicas: 2 although HorizontalPodAutoscaler ml/llm-v1 manages it" in message


def test_fixed_deployment_keeps_its_replicas() -> None:
    assert (
        stack_violations(
            "hpa-managed-deployments-omit-replicas", [(DEPLOYMENT, deployment()), (HPA, hpa("other"))]
        )
        == []
    )


def test_hpa_in_another_namespace_does_not_manage_the_deployment() -> None:
    assert (
        stack_violations(
            "hpa-managed-deployments-omit-replicas",
            [(DEPLOYMENT, deployment()), (HPA, hpa("llm-v1", "other"))],
        )
        == []
    )


def test_dangling_hpa_is_reported() -> None:
    [(message, urn)] = stack_violations(
        "hpa-targets-exist", [(DEPLOYMENT, without_replicas()), (HPA, hpa("llm-v9"))]
    )
    assert (urn, message) == ("urn:1", "It scales Deployment ml/llm-v9, which is not in the stack.")


def scaled_object(target: str, namespace: str = "ml", *, kind: str | None = "Deployment") -> dict[str, Any]:
    ref = {"name": target, **({"kind": kind} if kind else {})}
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": target, "namespace": namespace},
        "spec": {
            "scaleTargetRef": ref,
            "minReplicaCount": 1,
            "maxReplicaCount": 4,
            "triggers": [{"type": "prometheus", "metadata": {"query": "1", "threshold": "1"}}],
        },
    }


def test_scaled_object_managed_deployment_with_replicas_is_refused_on_the_deployment() -> None:
    [(message, urn)] = stack_violations(
        "hpa-managed-deployments-omit-replicas",
        [(DEPLOYMENT, deployment()), (SCALED_OBJECT, scaled_object("llm-v1"))],
    )
    assert urn == "urn:0"
    assert "It sets spec.replicas: 2 although ScaledObject ml/llm-v1 manages it" in message


def test_scaled_object_without_a_target_kind_scales_a_deployment_as_keda_defaults() -> None:
    [(message, _)] = stack_violations(
        "hpa-managed-deployments-omit-replicas",
        [(DEPLOYMENT, deployment()), (SCALED_OBJECT, scaled_object("llm-v1", kind=None))],
    )
    assert "ScaledObject ml/llm-v1 manages it" in message


def test_deployment_scaled_by_an_hpa_and_a_scaled_object_is_refused() -> None:
    [(message, urn)] = stack_violations(
        "one-autoscaler-per-deployment",
        [(DEPLOYMENT, without_replicas()), (HPA, hpa("llm-v1")), (SCALED_OBJECT, scaled_object("llm-v1"))],
    )
    assert urn == "urn:0"
    assert "scaled by 2 autoscalers (HorizontalPodAutoscaler ml/llm-v1, ScaledObject ml/llm-v1)" in message


def test_deployment_with_one_scaled_object_has_one_autoscaler() -> None:
    assert (
        stack_violations(
            "one-autoscaler-per-deployment",
            [(DEPLOYMENT, without_replicas()), (SCALED_OBJECT, scaled_object("llm-v1"))],
        )
        == []
    )


def test_dangling_scaled_object_is_reported() -> None:
    [(message, urn)] = stack_violations(
        "hpa-targets-exist", [(DEPLOYMENT, without_replicas()), (SCALED_OBJECT, scaled_object("llm-v9"))]
    )
    assert (urn, message) == ("urn:1", "It scales Deployment ml/llm-v9, which is not in the stack.")


def virtual_service(*subsets: str, host: str = "llm", mirror: str | None = None) -> dict[str, Any]:
    http: dict[str, Any] = {
        "route": [{"destination": {"host": host, "subset": s}, "weight": 50} for s in subsets]
    }
    if mirror:
        http["mirror"] = {"host": host, "subset": mirror}
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "llm", "namespace": "ml"},
        "spec": {"hosts": [host], "http": [http]},
    }


def destination_rule(
    *subsets: str, host: str = "llm.ml.svc.cluster.local", namespace: str = "ml"
) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "llm", "namespace": namespace},
        "spec": {"host": host, "subsets": [{"name": s, "labels": {"version": s}} for s in subsets]},
    }


def test_subsets_defined_by_a_destination_rule_pass() -> None:
    assert (
        stack_violations(
            "virtualservice-subsets-defined",
            [(VS, virtual_service("v1", "v2")), (DR, destination_rule("v1", "v2"))],
        )
        == []
    )


def test_short_and_full_host_names_meet() -> None:
    resources = [
        (VS, virtual_service("v1", host="llm.ml.svc.cluster.local")),
        (DR, destination_rule("v1", host="llm")),
    ]
    assert stack_violations("virtualservice-subsets-defined", resources) == []


def test_a_subset_no_destination_rule_defines_is_refused() -> None:
    [(message, urn)] = stack_violations(
        "virtualservice-subsets-defined",
        [(VS, virtual_service("v1", "v3")), (DR, destination_rule("v1", "v2"))],
    )
    assert urn == "urn:0"
    assert (
        "It routes to subset 'v3' of llm.ml.svc.cluster.local, which no DestinationRule defines (defined: v1, v2)"
        in message
    )


def test_a_mirror_subset_must_be_defined_too() -> None:
    [(message, _)] = stack_violations(
        "virtualservice-subsets-defined",
        [(VS, virtual_service("v1", mirror="v2")), (DR, destination_rule("v1"))],
    )
    assert "subset 'v2'" in message


def test_a_destination_rule_in_another_namespace_defines_another_host() -> None:
    [(message, _)] = stack_violations(
        "virtualservice-subsets-defined",
        [(VS, virtual_service("v1")), (DR, destination_rule("v1", host="llm", namespace="other"))],
    )
    assert "(defined: no DestinationRule)" in message


def pdb(labels: dict[str, str], namespace: str = "ml") -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "p", "namespace": namespace},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
    }


@pytest.mark.parametrize(
    ("budget", "covered"),
    [
        (pdb({"app": "llm", "version": "v1"}), True),
        (pdb({"app": "llm"}), True),
        (pdb({"app": "llm", "version": "v2"}), False),
        (pdb({"app": "llm"}, namespace="other"), False),
    ],
)
def test_pdb_per_deployment_needs_a_budget_selecting_its_pods(budget: dict[str, Any], covered: bool) -> None:
    found = stack_violations("pdb-per-deployment", [(DEPLOYMENT, deployment()), (PDB, budget)])
    assert (found == []) is covered


def test_pdb_selector_expressions_are_evaluated() -> None:
    budget = pdb({})
    budget["spec"]["selector"] = {
        "matchExpressions": [{"key": "version", "operator": "In", "values": ["v1", "v2"]}]
    }
    assert stack_violations("pdb-per-deployment", [(DEPLOYMENT, deployment()), (PDB, budget)]) == []


def _named(rule: dict[str, Any], name: str, policy: bool = False) -> dict[str, Any]:
    rule["metadata"]["name"] = name
    if policy:
        rule["spec"]["trafficPolicy"] = {"tls": {"mode": "ISTIO_MUTUAL"}}
    return rule


def test_a_policy_rule_and_one_subset_rule_per_version_merge_whole() -> None:
    resources = [
        (DR, _named(destination_rule(), "llm", policy=True)),
        (DR, _named(destination_rule("v1"), "llm-v1")),
        (DR, _named(destination_rule("v2", host="llm"), "llm-v2")),
    ]
    assert stack_violations("destinationrules-merge-whole", resources) == []


def test_a_second_top_level_policy_for_a_host_is_refused() -> None:
    resources = [
        (DR, _named(destination_rule(), "llm", policy=True)),
        (DR, _named(destination_rule("v1", host="llm"), "llm-v1", policy=True)),
    ]
    [(message, urn)] = stack_violations("destinationrules-merge-whole", resources)
    assert urn == "urn:1"
    assert "top-level trafficPolicy for llm.ml.svc.cluster.local, as DestinationRule llm does" in message


def test_a_subset_defined_by_two_rules_of_a_host_is_refused() -> None:
    resources = [
        (DR, _named(destination_rule("v1"), "llm-v1")),
        (DR, _named(destination_rule("v1"), "llm-v1-copy")),
    ]
    [(message, urn)] = stack_violations("destinationrules-merge-whole", resources)
    assert urn == "urn:1"
    assert "subset 'v1' of llm.ml.svc.cluster.local, as DestinationRule llm-v1 does" in message


def test_rules_of_a_host_in_two_namespaces_are_not_merged() -> None:
    resources = [
        (DR, _named(destination_rule("v1", host="llm.ml.svc.cluster.local"), "a", policy=True)),
        (
            DR,
            _named(
                destination_rule("v1", host="llm.ml.svc.cluster.local", namespace="other"), "b", policy=True
            ),
        ),
    ]
    assert stack_violations("destinationrules-merge-whole", resources) == []
