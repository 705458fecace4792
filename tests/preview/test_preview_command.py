"""`modelstack preview` as a command: its output flags, and what the PR comment carries on bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from modelstack.cli import cli
from modelstack.engine.render import render_stack

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "models.yaml")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for name in PROJECT_FILES:
        (root / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    # A copy, not a link: build contexts must resolve inside the catalog's project.
    shutil.copytree(
        ROOT / "examples", root / "examples", ignore=shutil.ignore_patterns("wheelhouse", "__pycache__")
    )
    monkeypatch.chdir(root)
    return root


def edit_catalog(root: Path, old: str, new: str) -> None:
    path = root / "models.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def preview(*args: str) -> Result:
    return CliRunner().invoke(cli, ["preview", "--stack", "dev", *args])


def test_json_and_markdown_together_are_a_usage_error(project: Path) -> None:
    result = preview("--json", "--markdown")
    assert result.exit_code == 2
    assert "give --json or --markdown, not both" in result.stderr
    assert result.stdout == ""


def test_the_markdown_of_an_invalid_catalog_carries_the_located_errors(project: Path) -> None:
    edit_catalog(project, "weight: 10\n", "weight: 15\n")
    result = preview("--markdown")
    assert result.exit_code == 2
    assert "The catalog is invalid: 1 error(s); nothing was rendered." in result.stdout
    assert "models.llm-chat.versions: traffic weights sum to 105, not 100 (v1=90, v2=15)" in result.stdout
    assert "traffic weights sum to 105" in result.stderr  # the job's log says it too


def test_the_markdown_carries_the_catalog_warnings(project: Path) -> None:
    # Autoscaling with no range left: the catalog is valid, and the reviewer must hear about it.
    edit_catalog(project, "replicas: {min: 1, max: 3}", "replicas: {min: 2, max: 2}")
    result = preview("--markdown")
    assert result.exit_code == 0, result.stderr
    assert "**:warning: 1 warning(s)**" in result.stdout
    assert "models.text-embedder.autoscaling: every version has replicas.min == replicas.max" in result.stdout


def test_the_markdown_carries_a_refused_release_change_beside_the_plan(project: Path, tmp_path: Path) -> None:
    base = tmp_path / "base"
    render_stack(project, "dev", base)
    edit_catalog(project, 'max_num_seqs: "64"', 'max_num_seqs: "128"')
    result = preview("--base-dir", str(base), "--markdown")
    assert result.exit_code == 2
    assert "1 released version(s) would change" in result.stdout
    assert "version v1 of llm-chat was released with other config/configFiles/env" in result.stdout
    assert "+ create   ml-dev/ConfigMap.core/llm-chat-v1-" in result.stdout  # and the plan
