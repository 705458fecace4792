"""The real admission chain on both repository stacks: server-side dry-run and PodSecurity `restricted`.

Each stack's namespace and ServiceAccounts are created for real from its render (labels included:
`enforce: restricted`), then every other rendered object goes through `kubectl apply --server-side --dry-run=server`: schema,
defaulting, CRD structural validation and CEL rules, and admission plugins all run, nothing is stored.
A pod of each Deployment's template, made privileged, must be refused by the PodSecurity plugin with
its own message.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.cluster.cluster import LocalCluster
from tests.cluster.stacks import run_modelstack
from tests.engine.engine import ROOT, ObjectId, read_objects

STACKS = ("dev", "prod")


@pytest.fixture(scope="module", params=STACKS)
def rendered(
    request: pytest.FixtureRequest, cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[ObjectId, dict[str, Any]]]]:
    stack = request.param
    out = tmp_path_factory.mktemp(f"render-{stack}")
    result = run_modelstack(ROOT, "render", "--stack", stack, "--out", str(out))
    assert result.returncode == 0, result.stderr
    objects = read_objects(out)
    namespaces = [body for key, body in objects.items() if key[1] == "Namespace"]
    cluster.apply(namespaces)
    # Pods name their ServiceAccount, which admission looks up: those must exist, not just dry-run.
    cluster.apply(body for key, body in objects.items() if key[1] == "ServiceAccount")
    try:
        yield stack, objects
    finally:
        for body in namespaces:
            cluster.kubectl("delete", "namespace", body["metadata"]["name"], "--wait=false", check=False)


def test_every_rendered_object_passes_server_side_dry_run(
    rendered: tuple[str, dict[ObjectId, dict[str, Any]]], cluster: LocalCluster
) -> None:
    stack, objects = rendered
    refused = []
    for key, body in sorted(objects.items()):
        if key[1] == "Namespace":
            continue
        result = cluster.kubectl(
            "apply", "--server-side", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump(body), check=False
        )
        if result.returncode != 0:
            refused.append(f"{key}: {result.stderr.strip()}")
    assert not refused, f"stack {stack}: the API server refuses:\n" + "\n".join(refused)


def test_namespace_enforces_the_restricted_pod_security_standard(
    rendered: tuple[str, dict[ObjectId, dict[str, Any]]], cluster: LocalCluster
) -> None:
    _, objects = rendered
    for key, _ in objects.items():
        if key[1] == "Namespace":
            labels = cluster.get("namespace", key[3])["metadata"]["labels"]
            assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_pod_template_is_admitted_as_a_pod_under_restricted(
    rendered: tuple[str, dict[ObjectId, dict[str, Any]]], cluster: LocalCluster
) -> None:
    """PodSecurity checks Pods, not Deployments: the templates are submitted as the Pods they become."""
    stack, objects = rendered
    pods = _template_pods(objects)
    # The golden-set evaluator (components/quality) runs as a Deployment of its own in both stacks.
    assert "text-embedder-golden-eval" in {key[3] for key, _ in pods}
    refused = []
    for key, pod in pods:
        result = cluster.kubectl(
            "create", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump(pod), check=False
        )
        if result.returncode != 0:
            refused.append(f"{key}: {result.stderr.strip()}")
    assert not refused, f"stack {stack}:\n" + "\n".join(refused)


def test_a_privileged_variant_is_rejected_by_pod_security_admission(
    rendered: tuple[str, dict[ObjectId, dict[str, Any]]], cluster: LocalCluster
) -> None:
    _, objects = rendered
    key, pod = next(iter(_template_pods(objects)))
    container = pod["spec"]["containers"][0]
    # Privileged implies escalation: the API server's validation refuses the pair (privileged, no escalation).
    container.setdefault("securityContext", {}).update({"privileged": True, "allowPrivilegeEscalation": True})
    result = cluster.kubectl("create", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump(pod), check=False)
    assert result.returncode != 0, f"a privileged pod of {key} was admitted"
    assert 'violates PodSecurity "restricted:latest"' in result.stderr, result.stderr
    assert f'privileged (container "{container["name"]}" must not set securityContext.privileged=true)' in (
        result.stderr
    ), result.stderr


def _template_pods(objects: dict[ObjectId, dict[str, Any]]) -> list[tuple[ObjectId, dict[str, Any]]]:
    pods = []
    for key, body in sorted(objects.items()):
        if key[1] not in ("Deployment", "Job"):
            continue
        template = copy.deepcopy(body["spec"]["template"])
        metadata = template.get("metadata") or {}
        metadata.update({"name": f"{key[3]}-admission-probe", "namespace": key[2]})
        pods.append(
            (key, {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]})
        )
    return pods
