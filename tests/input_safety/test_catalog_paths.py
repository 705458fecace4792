"""Issue 14, item 2: every path the catalog (or the stack) names stays inside the project, links
followed, and errors quote a short excerpt of a line, never the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import run_process

CONTEXT = "          context: examples/model-server\n"
SECRET_LINE = "SUPER_SECRET_TOKEN=hunter2-" + "x" * 60


def _lock_files(project: Path, *names: str) -> None:
    catalog = project / "models.yaml"
    listed = ", ".join(names)
    catalog.write_text(catalog.read_text().replace(CONTEXT, f"{CONTEXT}          lockFiles: [{listed}]\n"))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "credentials.txt"
    secret.parent.mkdir()
    secret.write_text(f"{SECRET_LINE}\nanother-line-of-secrets\n")
    return secret


def test_an_absolute_lock_file_outside_the_project_is_refused_unread(
    project: Path, run, outside: Path
) -> None:
    _lock_files(project, str(outside))
    result = run("validate", "--stack", "dev")
    assert result.located
    assert "is not a relative path" in result.stderr
    assert "hunter2" not in result.stderr and "another-line" not in result.stderr


def test_a_relative_lock_file_climbing_out_of_the_project_is_refused(
    project: Path, run, outside: Path
) -> None:
    relative = os.path.relpath(outside, project / "examples" / "model-server")
    _lock_files(project, relative)
    result = run("validate", "--stack", "dev")
    assert result.located and "outside the project" in result.stderr
    assert "hunter2" not in result.stderr


def test_a_link_inside_the_context_to_a_file_outside_is_refused(project: Path, run, outside: Path) -> None:
    (project / "examples" / "model-server" / "pinned.txt").symlink_to(outside)
    _lock_files(project, "pinned.txt")
    result = run("validate", "--stack", "dev")
    assert result.located and "outside the project" in result.stderr
    assert "hunter2" not in result.stderr


def test_proc_self_environ_is_never_read(project: Path) -> None:
    # Its own process: /proc/self/environ is the environment a process started with.
    _lock_files(project, "../../../../../../../../proc/self/environ")
    env = {**os.environ, "MODELSTACK_TEST_CANARY": "canary-value-must-not-leak"}
    result = run_process(project, "validate", "--stack", "dev", env=env)
    assert result.located, result.stderr
    assert "canary-value-must-not-leak" not in result.stderr


def test_a_context_outside_the_project_is_refused(project: Path, run, outside: Path) -> None:
    catalog = project / "models.yaml"
    relative = os.path.relpath(outside.parent, project)
    catalog.write_text(catalog.read_text().replace(CONTEXT, f"          context: {relative}\n"))
    result = run("validate", "--stack", "dev")
    assert result.located and "outside the project" in result.stderr


def test_a_dockerfile_outside_the_project_is_refused(project: Path, run, outside: Path) -> None:
    catalog = project / "models.yaml"
    catalog.write_text(
        catalog.read_text().replace(CONTEXT, f"{CONTEXT}          dockerfile: ../../../{outside.name}\n")
    )
    (project.parent / outside.name).write_text("FROM python:latest\n")
    result = run("validate", "--stack", "dev")
    assert result.located and "outside the project" in result.stderr


def test_an_unpinned_line_inside_the_project_is_quoted_only_as_an_excerpt(project: Path, run) -> None:
    lock = project / "examples" / "model-server" / "requirements.txt"
    lock.write_text(lock.read_text() + SECRET_LINE + "\n")
    result = run("validate", "--stack", "dev")
    assert result.located and "is not pinned" in result.stderr
    assert SECRET_LINE not in result.stderr
    assert "x" * 40 not in result.stderr


def test_an_index_option_is_named_without_its_value(project: Path, run) -> None:
    lock = project / "examples" / "model-server" / "requirements.txt"
    lock.write_text(lock.read_text() + "--index-url=https://user:s3cr3t@pypi.example.com/simple\n")
    result = run("validate", "--stack", "dev")
    assert result.located and "--index-url is not allowed" in result.stderr
    assert "s3cr3t" not in result.stderr


def test_a_lock_file_including_itself_is_read_once(project: Path, run) -> None:
    lock = project / "examples" / "model-server" / "requirements.txt"
    lock.write_text("-r requirements.txt\n" + lock.read_text())
    assert run("validate", "--stack", "dev").code == 0


def test_the_stacks_catalog_outside_the_project_is_refused(project: Path, run, outside: Path) -> None:
    stack = project / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text() + f"  modelstack:catalog: {outside}\n")
    result = run("validate", "--stack", "dev")
    assert result.located and "modelstack:catalog" in result.stderr
    assert "hunter2" not in result.stderr
