"""The GitHub workflows parse, and everything they reference exists: make targets, paths, CLI options."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from modelstack.cli import cli
from modelstack.cli.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
MAKEFILE = ROOT / "Makefile"
REPO_PATH = re.compile(
    r"(?<![\w./~-])(?:\./)?((?:scripts|policy|examples|docs|bench|tests|components|modelstack)/[\w./-]*\w)"
)


def workflow(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    if True in document:
        document["on"] = document.pop(True)
    return document


def all_workflows() -> list[str]:
    return sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


def run_lines(doc: dict[str, Any]) -> list[str]:
    return [
        line.strip() for step in steps(doc) for line in str(step.get("run", "")).splitlines() if line.strip()
    ]


def action(doc: dict[str, Any], job: str, uses_prefix: str) -> dict[str, Any]:
    return next(s for s in doc["jobs"][job]["steps"] if str(s.get("uses", "")).startswith(uses_prefix))


def make_targets() -> set[str]:
    if not MAKEFILE.exists():
        pytest.fail(f"{MAKEFILE} is missing: the workflows run `make test`, `make lint` and `make setup`")
    return set(
        re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", MAKEFILE.read_text(encoding="utf-8"), flags=re.MULTILINE)
    )


def test_there_are_workflows() -> None:
    assert {"ci.yml", "pull-request.yml", "pr-comment.yml", "deploy.yml"} <= set(all_workflows())


@pytest.mark.parametrize("name", all_workflows())
def test_workflow_parses_with_triggers_and_jobs(name: str) -> None:
    doc = workflow(name)
    assert doc["on"] and doc["jobs"]
    assert all(job.get("runs-on") and job.get("steps") for job in doc["jobs"].values())


@pytest.mark.parametrize("name", all_workflows())
def test_every_make_target_a_workflow_runs_exists(name: str) -> None:
    used = {t for line in run_lines(workflow(name)) for t in re.findall(r"\bmake\s+([A-Za-z0-9_.-]+)", line)}
    assert used - make_targets() == set()


def test_makefile_has_the_targets_the_project_documents() -> None:
    assert {"setup", "test", "lint", "preview", "bench"} <= make_targets()


@pytest.mark.parametrize("name", all_workflows())
def test_every_repository_path_a_workflow_references_exists(name: str) -> None:
    text = (WORKFLOWS / name).read_text(encoding="utf-8")
    paths = set(REPO_PATH.findall(text))
    for step in steps(workflow(name)):
        if "policyPacks" in step.get("with", {}):
            paths.add(step["with"]["policyPacks"])
    assert [p for p in sorted(paths) if not (ROOT / p).exists()] == []


def modelstack_invocations(doc: dict[str, Any]) -> list[list[str]]:
    return [
        shlex.split(line.split("modelstack", 1)[1].split("||")[0])
        for line in run_lines(doc)
        if re.search(r"(^|/)modelstack\s", line)
    ]


@pytest.mark.parametrize("name", all_workflows())
def test_every_modelstack_command_and_option_a_workflow_uses_exists(name: str) -> None:
    for command in COMMANDS:
        cli.add_command(command)
    for invocation in modelstack_invocations(workflow(name)):
        command = cli.commands.get(invocation[0])
        argv = invocation
        if isinstance(command, click.Group):  # `release run …`: the subcommand's options count
            argv = invocation[1:]
            command = command.commands.get(argv[0])
        assert isinstance(command, click.Command), f"modelstack has no command {argv[0]!r}"
        known = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert {a for a in argv[1:] if a.startswith("-")} <= known, (
            f"unknown option in modelstack {' '.join(argv)}"
        )


def test_pull_request_offline_job_needs_no_secrets_so_forks_work() -> None:
    doc = workflow("pull-request.yml")
    assert "pull_request" in doc["on"] and "pull_request_target" not in doc["on"]
    assert "secrets." not in yaml.safe_dump(doc["jobs"]["offline"])
    assert doc["permissions"] == {"contents": "read"}


def test_pull_request_offline_job_runs_the_tested_script_against_origin_main() -> None:
    """The job's steps live in scripts/pr-preview.sh, which tests/workflows/test_pr_preview.py runs."""
    doc = workflow("pull-request.yml")
    lines = run_lines({"jobs": {"offline": doc["jobs"]["offline"]}})
    assert (
        'bash scripts/pr-preview.sh origin/main "preview-${{ matrix.stack }}.md" "${{ matrix.stack }}"'
        in lines
    )
    script = (ROOT / "scripts" / "pr-preview.sh").read_text(encoding="utf-8")
    assert 'preview --stack "$stack" --base "$base" --markdown' in script
    assert 'check --stack "$stack"' in script
    checkout = action(doc, "offline", "actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0  # origin/main must be there to render the base


def test_pull_request_previews_only_the_touched_stacks_one_job_each() -> None:
    doc = workflow("pull-request.yml")
    touched = run_lines({"jobs": {"stacks": doc["jobs"]["stacks"]}})
    assert ".venv/bin/modelstack stacks --changed-since origin/main --json > stacks.json" in touched
    assert action(doc, "stacks", "actions/checkout@")["with"]["fetch-depth"] == 0
    for job, output in (("offline", "all"), ("pulumi", "cluster")):
        assert doc["jobs"][job]["needs"] == "stacks"
        assert (
            doc["jobs"][job]["strategy"]["matrix"]["stack"]
            == f"${{{{ fromJSON(needs.stacks.outputs.{output}) }}}}"
        )
        assert (
            f"needs.stacks.outputs.{output} != '[]'" in doc["jobs"][job]["if"]
        )  # an empty matrix is an error
        assert doc["jobs"][job]["strategy"]["fail-fast"] is False


def test_offline_preview_is_commented_by_a_workflow_run_that_does_not_run_pr_code() -> None:
    doc = workflow("pr-comment.yml")
    assert doc["on"]["workflow_run"]["workflows"] == [workflow("pull-request.yml")["name"]]
    uses = [str(s.get("uses", "")) for s in steps(doc)]
    assert not any(u.startswith("actions/checkout") for u in uses)
    comment = action(doc, "comment", "marocchino/sticky-pull-request-comment@")
    assert comment["with"]["path"] == "preview.md"
    pull_request = workflow("pull-request.yml")
    upload = action(pull_request, "comment", "actions/upload-artifact@")
    assert upload["with"]["name"] == "modelstack-preview" and "preview.md" in upload["with"]["path"]
    assert "always()" in pull_request["jobs"]["comment"]["if"]  # a failed stack's preview is posted too
    download = action(pull_request, "comment", "actions/download-artifact@")
    assert download["with"]["pattern"] == "preview-*"
    assert (
        action(pull_request, "offline", "actions/upload-artifact@")["with"]["name"]
        == "preview-${{ matrix.stack }}"
    )


def test_pulumi_preview_runs_the_policy_pack_and_comments_only_where_secrets_exist() -> None:
    job = workflow("pull-request.yml")["jobs"]["pulumi"]
    assert job["if"].startswith("github.event.pull_request.head.repo.full_name == github.repository && ")
    pulumi = action({"jobs": {"pulumi": job}}, "pulumi", "pulumi/actions@")
    assert pulumi["uses"] in ("pulumi/actions@v6", "pulumi/actions@v7")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["stack-name"] == "${{ vars.PULUMI_ORG }}/modelstack/${{ matrix.stack }}"
    assert pulumi["with"]["policyPacks"] == "policy"
    assert pulumi["with"]["comment-on-pr"] is True
    assert job["permissions"]["pull-requests"] == "write"


def test_pulumi_preview_skips_the_checkpoints_a_preview_discards() -> None:
    job = workflow("pull-request.yml")["jobs"]["pulumi"]
    assert job["env"]["PULUMI_SKIP_CHECKPOINTS"] == "true"


def test_pulumi_up_keeps_the_engines_checkpoints() -> None:
    doc = workflow("deploy.yml")
    for name, job in doc["jobs"].items():
        env = {**doc.get("env", {}), **job.get("env", {})}
        assert "PULUMI_SKIP_CHECKPOINTS" not in env, f"{name}: an up must checkpoint every step"


def test_main_runs_pulumi_up_of_the_touched_cluster_stacks_bases_before_shards() -> None:
    doc = workflow("deploy.yml")
    assert doc["on"] == {"push": {"branches": ["main"]}}
    assert doc["concurrency"]["cancel-in-progress"] is False
    plan = run_lines({"jobs": {"plan": doc["jobs"]["plan"]}})
    assert '.venv/bin/modelstack stacks --changed-since "$BEFORE" --json > stacks.json' in plan
    assert any('select(.target == "cluster" and .wave == 0)' in line for line in plan)
    assert any('select(.target == "cluster" and .wave == 1)' in line for line in plan)
    assert doc["jobs"]["base"]["needs"] == "plan"
    assert doc["jobs"]["models"]["needs"] == ["plan", "base"]  # a shard reads its base: the base is up first
    assert "needs.base.result != 'failure'" in doc["jobs"]["models"]["if"]
    for job, wave in (("base", "base"), ("models", "models")):
        assert (
            doc["jobs"][job]["strategy"]["matrix"]["stack"]
            == f"${{{{ fromJSON(needs.plan.outputs.{wave}) }}}}"
        )
        pulumi = action(doc, job, "pulumi/actions@")
        assert pulumi["with"]["command"] == "up"
        assert pulumi["with"]["stack-name"] == "${{ vars.PULUMI_ORG }}/modelstack/${{ matrix.stack }}"
        assert pulumi["with"]["policyPacks"] == "policy"
        checks = run_lines({"jobs": {job: doc["jobs"][job]}})
        assert '.venv/bin/modelstack check --stack "${{ matrix.stack }}"' in checks


def test_ci_runs_the_test_command_on_pull_requests_and_main() -> None:
    doc = workflow("ci.yml")
    assert "pull_request" in doc["on"] and doc["on"]["push"]["branches"] == ["main"]
    assert "make test" in run_lines({"jobs": {"test": doc["jobs"]["test"]}})


def test_policy_pack_directory_is_a_pack() -> None:
    assert (ROOT / "policy" / "PulumiPolicy.yaml").exists()
    assert (ROOT / "policy" / "__main__.py").exists()
