"""`modelstack preview --base <git ref>` as a reviewer runs it, on a fresh clone: only real changes show.

The base is rendered in a temporary worktree, somewhere else on disk than the checkout, so anything
derived from where the checkout lives (the stand-in digest of a built image, once) shows up as a change
to a released version and makes the preview refuse itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.git_project import clone_of_working_tree, run_modelstack

STACKS = ["dev", "prod"]


def shift_llm_chat_weights(text: str) -> str:
    return text.replace("weight: 90\n", "weight: 80\n", 1).replace("weight: 10\n", "weight: 20\n", 1)


@pytest.mark.parametrize("stack", STACKS)
def test_preview_against_head_of_a_clean_clone_prints_no_changes(stack: str, tmp_path: Path) -> None:
    project = clone_of_working_tree(tmp_path / "clone")
    result = run_modelstack(project.root, "preview", "--stack", stack, "--base", "HEAD")
    assert result.returncode == 0, result.stderr
    assert "no changes" in result.stdout
    assert "to create" not in result.stdout and "to update" not in result.stdout


@pytest.mark.parametrize("stack", STACKS)
def test_preview_against_head_after_a_weight_change_shows_exactly_that_change(
    stack: str, tmp_path: Path
) -> None:
    project = clone_of_working_tree(tmp_path / "clone")
    project.edit("models.yaml", shift_llm_chat_weights)
    result = run_modelstack(project.root, "preview", "--stack", stack, "--base", "HEAD", "--json")
    assert result.returncode == 0, result.stderr
    import json

    plan = json.loads(result.stdout)
    changed = {(s["action"], s["kind"], s["object"].rsplit("/", 1)[1]) for s in plan["steps"]}
    assert changed == {("update", "VirtualService", "llm-chat")}
    (step,) = plan["steps"]
    assert {(c["path"], c["before"], c["after"]) for c in step["changes"]} == {
        ("spec.http[weighted].route[v1].weight", 90, 80),
        ("spec.http[weighted].route[v2].weight", 10, 20),
    }


def test_two_clones_in_different_folders_render_byte_identically(tmp_path: Path) -> None:
    first = clone_of_working_tree(tmp_path / "a" / "modelstack")
    second = clone_of_working_tree(tmp_path / "elsewhere" / "deeper" / "checkout")
    for project in (first, second):
        result = run_modelstack(project.root, "render", "--stack", "prod", "--out", "out")
        assert result.returncode == 0, result.stderr
    files = sorted(p.relative_to(first.root / "out") for p in (first.root / "out").rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(second.root / "out") for p in (second.root / "out").rglob("*") if p.is_file()
    )
    differing = [
        str(f)
        for f in files
        if (first.root / "out" / f).read_bytes() != (second.root / "out" / f).read_bytes()
    ]
    assert differing == []
