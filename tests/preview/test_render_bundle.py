"""`modelstack render --bundle`: the render as one file, and what `preview --base` makes of it.

A bundle holds exactly the texts, outputs and lock that `render --out` writes; a preview against a git
revision reads the base's bundle and plans exactly what the uncached preview (which renders the base into a
directory and parses every file) plans; a revision whose CLI predates `--bundle` is still previewed. A
bundle by reference (what the preview asks of its base) gives the very digests and objects of the whole one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelstack.engine.render_bundle import FORMAT, REFERENCE_FORMAT, BundleError, read_bundle
from modelstack.engine.render_cache import RenderCache
from modelstack.engine.render_store import MODEL_TEXTS, CacheVanishedError
from tests.git_project import GitProject, clone_of_working_tree, modelstack_env, run_modelstack
from tests.preview.test_git_base import shift_llm_chat_weights

STACKS = ["dev", "prod"]


def _directory_texts(directory: Path) -> dict[str, str]:
    return {
        path.relative_to(directory).as_posix(): path.read_text(encoding="utf-8")
        for path in directory.rglob("*.yaml")
    }


@pytest.mark.parametrize("stack", STACKS)
def test_a_bundle_holds_the_texts_outputs_and_lock_that_render_out_writes(
    stack: str, tmp_path: Path, project_root: Path
) -> None:
    out, bundle = tmp_path / "out", tmp_path / "render.json"
    for target in (["--out", str(out)], ["--bundle", str(bundle)]):
        result = run_modelstack(project_root, "render", "--stack", stack, "--no-cache", *target)
        assert result.returncode == 0, result.stderr

    read = read_bundle(bundle)

    assert read.texts == _directory_texts(out)
    assert read.outputs == json.loads((out / "outputs.json").read_text(encoding="utf-8"))
    assert read.lock == json.loads((out / "versions.lock.json").read_text(encoding="utf-8"))


def test_a_cached_bundle_is_byte_for_byte_the_uncached_one(tmp_path: Path, project_root: Path) -> None:
    env = {**modelstack_env(project_root), "MODELSTACK_CACHE_DIR": str(tmp_path / "cache")}
    written = []
    for name, extra in (("plain", ["--no-cache"]), ("cold", []), ("warm", [])):
        path = tmp_path / f"{name}.json"
        command = [
            sys.executable,
            "-m",
            "modelstack",
            "render",
            "--stack",
            "prod",
            "--bundle",
            str(path),
            *extra,
        ]
        result = subprocess.run(command, cwd=project_root, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        written.append(path.read_bytes())

    assert written[1] == written[0]
    assert written[2] == written[0]


def test_render_bundle_refuses_to_replace_a_file_that_is_not_a_bundle(
    tmp_path: Path, project_root: Path
) -> None:
    precious = tmp_path / "notes.json"
    precious.write_text('{"mine": true}\n', encoding="utf-8")

    result = run_modelstack(project_root, "render", "--stack", "dev", "--bundle", str(precious))

    assert result.returncode == 2
    assert "is not a render bundle" in result.stderr and "Traceback" not in result.stderr
    assert precious.read_text(encoding="utf-8") == '{"mine": true}\n'


def test_render_bundle_replaces_a_bundle_it_wrote_before(tmp_path: Path, project_root: Path) -> None:
    bundle = tmp_path / "render.json"
    for _ in range(2):
        result = run_modelstack(project_root, "render", "--stack", "dev", "--bundle", str(bundle))
        assert result.returncode == 0, result.stderr

    assert read_bundle(bundle).texts
    assert bundle.read_text(encoding="utf-8").startswith('{"format":"' + FORMAT + '"')


def test_render_takes_out_or_bundle_not_both(tmp_path: Path, project_root: Path) -> None:
    result = run_modelstack(
        project_root,
        "render",
        "--stack",
        "dev",
        "--out",
        str(tmp_path / "o"),
        "--bundle",
        str(tmp_path / "b"),
    )

    assert result.returncode == 2
    assert "give --out or --bundle, not both" in result.stderr
    assert not (tmp_path / "o").exists() and not (tmp_path / "b").exists()


def _preview(project: GitProject, stack: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_modelstack(project.root, "preview", "--stack", stack, "--base", "HEAD", "--json", *extra)


@pytest.mark.parametrize("stack", STACKS)
def test_a_preview_against_a_revision_plans_from_its_bundle_what_the_uncached_preview_plans(
    stack: str, tmp_path: Path
) -> None:
    project = clone_of_working_tree(tmp_path / "clone")
    project.edit("models.yaml", shift_llm_chat_weights)

    cached, uncached = _preview(project, stack), _preview(project, stack, "--no-cache")

    assert cached.returncode == 0, cached.stderr
    assert uncached.returncode == 0, uncached.stderr
    assert cached.stdout == uncached.stdout
    assert json.loads(cached.stdout)["steps"]


def _previewed_against_a_cli_without(option: str, tmp_path: Path) -> None:
    """A base revision whose CLI rejects `option` as one from before it did (the option spelled otherwise)
    still previews a one-model change as the uncached preview does."""
    project = clone_of_working_tree(tmp_path / "clone")
    cli = "modelstack/cli/__init__.py"
    today = (project.root / cli).read_text(encoding="utf-8")
    project.edit(cli, lambda text: text.replace(f'"{option}",\n', f'"{option}-of-another-name",\n', 1))
    project.commit(f"a CLI without render {option}")
    (project.root / cli).write_text(today, encoding="utf-8")
    project.edit("models.yaml", shift_llm_chat_weights)

    cached, uncached = _preview(project, "dev"), _preview(project, "dev", "--no-cache")

    assert cached.returncode == 0, cached.stderr
    assert cached.stdout == uncached.stdout
    changed = {s["object"].rsplit("/", 1)[1] for s in json.loads(cached.stdout)["steps"]}
    assert changed == {"llm-chat"}


def test_a_revision_whose_cli_predates_render_bundle_is_previewed_from_a_directory(tmp_path: Path) -> None:
    _previewed_against_a_cli_without("--bundle", tmp_path)


def test_an_invalid_head_stops_the_base_render_and_leaves_no_worktree(tmp_path: Path) -> None:
    project = clone_of_working_tree(tmp_path / "clone")
    project.edit("models.yaml", lambda text: text.replace("weight: 90\n", "weight: ninety\n", 1))

    result = _preview(project, "dev")

    assert result.returncode == 2
    assert "weight" in result.stderr and "Traceback" not in result.stderr
    assert project.git("worktree", "list", "--porcelain").count("worktree ") == 1


def test_a_bundle_is_created_with_the_mode_the_umask_gives(tmp_path: Path, project_root: Path) -> None:
    import os
    import stat

    bundle = tmp_path / "render.json"
    previous = os.umask(0o022)
    try:
        result = run_modelstack(project_root, "render", "--stack", "dev", "--bundle", str(bundle))
    finally:
        os.umask(previous)

    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["render.json"]  # no staging file left behind


def _bundles(project_root: Path, tmp_path: Path, stack: str) -> tuple[Path, Path, RenderCache]:
    """The same render as a whole bundle and by reference, through one render cache."""
    cache = tmp_path / "cache"
    env = {**modelstack_env(project_root), "MODELSTACK_CACHE_DIR": str(cache)}
    whole, by_reference = tmp_path / "whole.json", tmp_path / "by-reference.json"
    for target in ([str(whole)], [str(by_reference), "--by-reference"]):
        command = [sys.executable, "-m", "modelstack", "render", "--stack", stack, "--bundle", *target]
        result = subprocess.run(command, cwd=project_root, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    return whole, by_reference, RenderCache(cache)


@pytest.mark.parametrize("stack", STACKS)
def test_a_bundle_by_reference_gives_the_digests_objects_outputs_and_lock_of_the_whole_bundle(
    stack: str, tmp_path: Path, project_root: Path
) -> None:
    whole_path, reference_path, cache = _bundles(project_root, tmp_path, stack)

    whole, by_reference = read_bundle(whole_path), read_bundle(reference_path, cache)

    assert reference_path.read_text(encoding="utf-8").startswith('{"format":"' + REFERENCE_FORMAT + '"')
    assert by_reference.index() == whole.index()
    assert all(by_reference.body(key) == whole.body(key) for key in whole.index())
    assert (by_reference.outputs, by_reference.lock) == (whole.outputs, whole.lock)
    # Only what the cache does not hold is copied: the stack-wide objects, a model that builds its image.
    named = by_reference.model_keys
    assert named
    assert {owner for _, owner in by_reference.digests.values() if owner in named}
    copied = {key for key, (_, owner) in by_reference.digests.items() if owner not in named}
    assert set(by_reference.texts) == copied


def test_a_bundle_by_reference_is_refused_beside_another_render_cache(
    tmp_path: Path, project_root: Path
) -> None:
    _, reference_path, _ = _bundles(project_root, tmp_path, "dev")

    with pytest.raises(BundleError, match="another render cache"):
        read_bundle(reference_path, RenderCache(tmp_path / "another"))
    with pytest.raises(BundleError, match="another render cache"):
        read_bundle(reference_path)


def test_an_object_whose_entry_left_the_cache_is_cache_vanished_not_a_wrong_object(
    tmp_path: Path, project_root: Path
) -> None:
    import shutil

    _, reference_path, cache = _bundles(project_root, tmp_path, "dev")
    by_reference = read_bundle(reference_path, cache)
    shutil.rmtree(cache.directory / MODEL_TEXTS)
    key = next(key for key, (_, owner) in by_reference.digests.items() if owner)

    with pytest.raises(CacheVanishedError):
        by_reference.body(key)


def test_render_by_reference_needs_a_bundle(tmp_path: Path, project_root: Path) -> None:
    result = run_modelstack(project_root, "render", "--stack", "dev", "--by-reference")

    assert result.returncode == 2
    assert "--by-reference needs --bundle" in result.stderr


def test_a_revision_whose_cli_predates_render_by_reference_is_previewed_from_its_whole_bundle(
    tmp_path: Path,
) -> None:
    _previewed_against_a_cli_without("--by-reference", tmp_path)
