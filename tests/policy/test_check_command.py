"""`modelstack check`: the pack over offline renders, and the pack's own files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from pulumi_policy import EnforcementLevel

from components.kubernetes_object import type_token
from modelstack.cli import cli
from modelstack.cli.commands import COMMANDS
from modelstack.engine.check import check_manifests, load_policies, read_manifests
from modelstack.engine.render import write_render

from .harness import ROOT, deployment, server

MANDATORY = {
    "images-by-digest",
    "probes-on-exposed-ports",
    "accelerators-requests-equal-limits",
    "restricted-pod-security",
    "no-public-services-outside-gateway",
    "hpa-managed-deployments-omit-replicas",
    "one-autoscaler-per-deployment",
    "virtualservice-subsets-defined",
    "destinationrules-merge-whole",
}


def run_check(*args: str):
    for command in COMMANDS:
        cli.add_command(command)
    return CliRunner().invoke(cli, ["check", *args])


@pytest.mark.parametrize(
    ("api_version", "kind", "token"),
    [
        ("apps/v1", "Deployment", "kubernetes:apps/v1:Deployment"),
        ("v1", "Service", "kubernetes:core/v1:Service"),
        ("networking.istio.io/v1", "VirtualService", "kubernetes:networking.istio.io/v1:VirtualService"),
        ("autoscaling/v2", "HorizontalPodAutoscaler", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"),
        ("keda.sh/v1alpha1", "ScaledObject", "kubernetes:keda.sh/v1alpha1:ScaledObject"),
        ("networking.k8s.io/v1", "NetworkPolicy", "kubernetes:networking.k8s.io/v1:NetworkPolicy"),
    ],
)
def test_resource_type_is_the_pulumi_kubernetes_token(api_version: str, kind: str, token: str) -> None:
    assert type_token(api_version, kind) == token


def test_pack_enforces_the_guardrails_as_mandatory() -> None:
    levels = {p.name: p.enforcement_level for p in load_policies(ROOT)}
    assert {n for n, level in levels.items() if level is EnforcementLevel.MANDATORY} == MANDATORY
    assert set(levels) - MANDATORY == {
        "hpa-targets-exist",
        "pdb-per-deployment",
        "topology-spread",
        "resource-requests-set",
    }


def test_pack_is_a_python_policy_pack_built_from_policies_py() -> None:
    project = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    main = (ROOT / "policy" / "__main__.py").read_text()
    assert "from policies import POLICIES" in main and "PolicyPack(" in main


def test_pack_requirements_pin_what_the_project_pins() -> None:
    def pins(path: Path) -> dict[str, str]:
        found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(), flags=re.MULTILINE)
        return {name.lower(): version for name, version in found}

    pack, project = pins(ROOT / "policy" / "requirements.txt"), pins(ROOT / "requirements.txt")
    assert pack and all(project.get(name) == version for name, version in pack.items())


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rendered_stacks_meet_every_mandatory_policy(render_of, stack: str) -> None:
    violations = check_manifests(render_of(stack).manifests, load_policies(ROOT))
    assert [str(v) for v in violations if v.mandatory] == []


def test_a_hand_added_deployment_with_a_tagged_image_is_refused(render_of, tmp_path: Path) -> None:
    out = tmp_path / "render"
    write_render(render_of("dev"), out)
    rogue = deployment("rogue-v1", "ml-dev")
    server(rogue)["image"] = "registry.example.com/rogue:1.0"
    (out / "ml-dev" / "Deployment.apps" / "rogue-v1.yaml").write_text(yaml.safe_dump(rogue))

    result = run_check("--dir", str(out))

    assert result.exit_code == 1
    assert (
        "[mandatory] images-by-digest: Deployment ml-dev/rogue-v1: The container 'server' uses image "
        "'registry.example.com/rogue:1.0', which is not pinned by digest."
    ) in result.output


def test_check_exits_0_when_only_advisory_policies_complain(tmp_path: Path) -> None:
    lonely = deployment("lonely-v1", "ml")  # no PodDisruptionBudget selects it: advisory only
    (tmp_path / "lonely.yaml").write_text(yaml.safe_dump(lonely))
    result = run_check("--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (
        "[advisory] pdb-per-deployment: Deployment ml/lonely-v1: No PodDisruptionBudget selects its pods"
        in result.output
    )
    assert "0 mandatory and 1 advisory violation(s)" in result.output


def test_read_manifests_reads_multi_document_files(tmp_path: Path) -> None:
    docs = [deployment("a-v1"), deployment("b-v1")]
    (tmp_path / "all.yaml").write_text(yaml.safe_dump_all(docs))
    assert [m.name for m in read_manifests(tmp_path)] == ["a-v1", "b-v1"]
