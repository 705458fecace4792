"""The offline job of the pull-request workflow, run as the workflow runs it: `scripts/pr-preview.sh
origin/main preview.md` in a checkout whose `origin/main` is the base and whose HEAD is the pull request.

Each scenario is one pull request against today's catalog; the tests read the comment it produces.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from modelstack.release.edits import plan_retire
from tests.git_project import GitProject, clone_of_working_tree, modelstack_env

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "scripts/pr-preview.sh"
NEW_DIGEST = "ab" * 32
V3 = f"""      v3:
        image: registry.ml.example.com/llm/chat-vllm@sha256:{NEW_DIGEST}
        weight: 0
        nodePool: gpu-h100
        resources: {{cpu: "8", memory: 64Gi, gpu: 1}}
        replicas: {{min: 1, max: 2}}
        precision: bf16
        args: [--model, /models/chat-8b, --served-model-name, llm-chat, --max-model-len, "8192"]
        modelWeights: {{volume: {{csi: {{driver: s3.csi.aws.com, volumeHandle: llm-chat-8b-v3}}}}, mountPath: /models}}
"""
OBJECT_DETECTOR = "\n  # An object detector"


@dataclass(frozen=True)
class Job:
    exit_code: int
    comment: str
    log: str


def _weights(v1: int, v2: int) -> Callable[[str], str]:
    return lambda text: text.replace("weight: 90\n", f"weight: {v1}\n", 1).replace(
        "weight: 10\n", f"weight: {v2}\n", 1
    )


def run_offline_job(
    tmp: Path, edit_base: Callable[[str], str] | None, edit_head: Callable[[str], str], *stacks: str
) -> Job:
    """origin/main = today's tree (after `edit_base`), the PR = `edit_head` on top; run the job's script
    (for `stacks`, or every stack)."""
    upstream = clone_of_working_tree(tmp / "upstream")
    if edit_base is not None:
        upstream.edit("models.yaml", edit_base)
        upstream.commit("base catalog")
    checkout = tmp / "checkout"
    subprocess.run(["git", "clone", "--quiet", str(upstream.root), str(checkout)], check=True)
    pull_request = GitProject(checkout)
    pull_request.git("checkout", "--quiet", "-b", "pull-request")
    pull_request.edit("models.yaml", edit_head)
    pull_request.commit("the pull request")
    (checkout / ".venv").symlink_to(ROOT / ".venv")  # `make setup` of the job; .venv is ignored by git
    done = subprocess.run(
        ["bash", SCRIPT, "origin/main", "preview.md", *stacks],
        cwd=checkout,
        env={**modelstack_env(checkout), "MODELSTACK": os.path.join(".venv", "bin", "modelstack")},
        capture_output=True,
        text=True,
        check=False,
    )
    return Job(done.returncode, (checkout / "preview.md").read_text(encoding="utf-8"), done.stderr)


def section(comment: str, stack: str) -> str:
    """The preview of one stack in the comment."""
    match = re.search(rf"^### Preview of stack {stack} .*?(?=^### |\Z)", comment, re.MULTILINE | re.DOTALL)
    assert match, f"no preview of stack {stack} in:\n{comment}"
    return match.group(0)


class TestWeightChange:
    @pytest.fixture(scope="class")
    @classmethod
    def job(cls, tmp_path_factory: pytest.TempPathFactory) -> Job:
        return run_offline_job(tmp_path_factory.mktemp("weights"), None, _weights(80, 20))

    def test_the_job_passes(self, job: Job) -> None:
        assert job.exit_code == 0, job.log + job.comment

    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_the_summary_table_names_the_new_split(self, job: Job, stack: str) -> None:
        preview = section(job.comment, stack)
        assert "| `llm-chat` | v1 90 → 80, v2 10 → 20 | 0 | 1 | 0 | 0 |" in preview
        assert "**Resources: 1 to update," in preview

    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_the_changed_weights_are_shown_by_destination(self, job: Job, stack: str) -> None:
        preview = section(job.comment, stack)
        assert "spec.http[weighted].route[v1].weight: 90 → 80" in preview
        assert "spec.http[weighted].route[v2].weight: 10 → 20" in preview

    def test_the_policy_check_of_every_stack_is_in_the_comment(self, job: Job) -> None:
        assert "### Policy check" in job.comment
        for stack in ("dev", "prod"):
            assert re.search(rf"stack {stack}: \d+ objects, 0 mandatory", job.comment), job.comment


class TestOneStack:
    """The workflow runs the script once per touched stack: only that stack is previewed and checked."""

    @pytest.fixture(scope="class")
    @classmethod
    def job(cls, tmp_path_factory: pytest.TempPathFactory) -> Job:
        return run_offline_job(tmp_path_factory.mktemp("one-stack"), None, _weights(80, 20), "prod")

    def test_only_the_named_stack_is_in_the_comment(self, job: Job) -> None:
        assert job.exit_code == 0, job.log + job.comment
        assert "| `llm-chat` | v1 90 → 80, v2 10 → 20 |" in section(job.comment, "prod")
        assert "### Preview of stack dev " not in job.comment
        assert "#### stack prod" in job.comment and "#### stack dev" not in job.comment


class TestNewVersion:
    @pytest.fixture(scope="class")
    @classmethod
    def job(cls, tmp_path_factory: pytest.TempPathFactory) -> Job:
        return run_offline_job(
            tmp_path_factory.mktemp("new-version"),
            None,
            lambda text: text.replace(OBJECT_DETECTOR, "\n" + V3.rstrip("\n") + "\n" + OBJECT_DETECTOR, 1),
        )

    def test_the_job_passes(self, job: Job) -> None:
        assert job.exit_code == 0, job.log + job.comment

    @pytest.mark.parametrize(("stack", "namespace"), [("dev", "ml-dev"), ("prod", "ml-serving")])
    def test_the_new_version_and_its_objects_are_listed(self, job: Job, stack: str, namespace: str) -> None:
        preview = section(job.comment, stack)
        assert "| `llm-chat` | v3 new → 0 |" in preview
        assert f"+ create   {namespace}/Deployment.apps/llm-chat-v3" in preview
        assert f"+ create   {namespace}/Service.core/llm-chat-v3" in preview

    def test_the_new_subset_is_a_rule_of_its_own(self, job: Job) -> None:
        preview = section(job.comment, "prod")
        assert "+ create   ml-serving/DestinationRule.networking.istio.io/llm-chat-v3" in preview, preview

    def test_the_new_versions_alert_rules_are_added_by_name_and_version(self, job: Job) -> None:
        preview = section(job.comment, "prod")
        assert "rules[ModelP99LatencyHigh@v3]: (absent) → " in preview
        assert 'destination_workload=\\"llm-chat-v3\\"' in preview


class TestRetiredVersion:
    @pytest.fixture(scope="class")
    @classmethod
    def job(cls, tmp_path_factory: pytest.TempPathFactory) -> Job:
        return run_offline_job(
            tmp_path_factory.mktemp("retired"),
            _weights(100, 0),
            lambda text: plan_retire(text, "llm-chat", "v2").text,
        )

    def test_the_job_passes(self, job: Job) -> None:
        assert job.exit_code == 0, job.log + job.comment

    @pytest.mark.parametrize(("stack", "namespace"), [("dev", "ml-dev"), ("prod", "ml-serving")])
    def test_the_retired_version_and_its_objects_are_deleted(
        self, job: Job, stack: str, namespace: str
    ) -> None:
        preview = section(job.comment, stack)
        assert "| `llm-chat` | v2 0 → retired |" in preview
        assert f"- delete   {namespace}/Deployment.apps/llm-chat-v2" in preview
        assert f"- delete   {namespace}/ConfigMap.core/llm-chat-v2-" in preview

    def test_the_sticky_pin_route_goes_away_by_name(self, job: Job) -> None:
        preview = section(job.comment, "prod")
        assert re.search(r"spec\.http\[pin-v2\]: \{.*\} → \(absent\)", preview), preview


class TestInvalidCatalog:
    @pytest.fixture(scope="class")
    @classmethod
    def job(cls, tmp_path_factory: pytest.TempPathFactory) -> Job:
        return run_offline_job(tmp_path_factory.mktemp("invalid"), None, _weights(90, 15))

    def test_the_job_fails_with_exit_2(self, job: Job) -> None:
        assert job.exit_code == 2, job.log

    @pytest.mark.parametrize("stack", ["dev", "prod"])
    def test_the_comment_carries_the_located_errors(self, job: Job, stack: str) -> None:
        preview = section(job.comment, stack)
        assert "The catalog is invalid: 1 error(s); nothing was rendered." in preview
        catalog = (ROOT / "models.yaml").read_text(encoding="utf-8").splitlines()
        line = next(i for i, text in enumerate(catalog, 1) if text == "    versions:")  # llm-chat's
        assert (
            f"models.yaml:{line}:5: models.llm-chat.versions: traffic weights sum to 105, not 100 (v1=90, v2=15)"
        ) in preview


class TestReleasedVersionChanged:
    @pytest.fixture(scope="class")
    @classmethod
    def job(cls, tmp_path_factory: pytest.TempPathFactory) -> Job:
        def new_image_for_v1(text: str) -> str:
            v1 = yaml.safe_load(text)["models"]["llm-chat"]["versions"]["v1"]["image"]
            return text.replace(v1, v1.split("@")[0] + "@sha256:" + NEW_DIGEST, 1)

        return run_offline_job(tmp_path_factory.mktemp("released"), None, new_image_for_v1)

    def test_the_job_fails_with_exit_2(self, job: Job) -> None:
        assert job.exit_code == 2, job.log

    def test_the_comment_carries_the_finding_and_the_plan(self, job: Job) -> None:
        preview = section(job.comment, "prod")
        assert "1 released version(s) would change" in preview
        assert "models.llm-chat.versions.v1.image: version v1 of llm-chat was released as sha256:" in preview
        assert f"{{+{NEW_DIGEST}+}}" in preview  # the plan still shows the Deployment's new image
