"""Issue 14, item 4: every bad input is one located message and exit 2 — no `error:` line, no hang, no
crash — and the reader is bounded (size, nesting, alias expansion, regular files only)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import files_of, run_process

CATALOG_CASES = {
    "not-utf8": b"apiVersion: modelstack/v1\nmodels:\n  caf\xe9: {}\n",
    "control-character": b"apiVersion: modelstack/v1\nmodels: {a\x07b: {}}\n",
    "nesting-1000": b"apiVersion: modelstack/v1\nmodels: " + b"[" * 1000 + b"]" * 1000 + b"\n",
    "self-referencing-alias": b"apiVersion: modelstack/v1\nmodels: &m {x: *m}\n",
    "set-tag": b"apiVersion: modelstack/v1\nmodels: !!set {a, b}\n",
    "python-name-tag": b"apiVersion: !!python/name:os.system modelstack/v1\nmodels: {}\n",
    "merge-key": b"apiVersion: modelstack/v1\nbase: &b {server: vllm}\nmodels:\n  m: {<<: *b}\n",
    "top-level-list": b"- apiVersion: modelstack/v1\n",
    "invalid-date": b"apiVersion: 2024-13-45\nmodels: {}\n",
}


@pytest.mark.parametrize("name", sorted(CATALOG_CASES))
def test_a_broken_catalog_is_one_located_exit_2(project: Path, run, name: str) -> None:
    (project / "models.yaml").write_bytes(CATALOG_CASES[name])
    result = run("validate", "--stack", "dev")
    assert result.located, (result.code, result.stderr)


STACK_CASES = {
    "top-level-list": "- config\n",
    "top-level-string": "just a string\n",
    "config-a-list": "config: [a]\n",
    "infinite-cpu-per-node": (
        "config:\n  modelstack:namespace: ml-dev\n  modelstack:nodePools:\n"
        "    - {name: cpu-general, cpuPerNode: .inf, maxNodes: 3}\n"
    ),
    "nan-in-an-object": "config:\n  modelstack:namespace: ml-dev\n  modelstack:egress: {dns: {cidr: .nan}}\n",
}


@pytest.mark.parametrize("name", sorted(STACK_CASES))
def test_a_broken_stack_file_is_one_located_exit_2(project: Path, run, name: str) -> None:
    (project / "Pulumi.dev.yaml").write_text(STACK_CASES[name])
    for command in ("validate", "render", "capacity"):
        result = run(command, "--stack", "dev")
        assert result.located, (command, result.code, result.stderr)
    assert not (project / "rendered").exists()


def test_an_incomplete_custom_server_is_located(project: Path, run) -> None:
    catalog = project / "models.yaml"
    catalog.write_text(catalog.read_text().replace("server: vllm", "server: custom", 1))
    result = run("validate", "--stack", "dev")
    assert result.located and "serverOverrides must give" in result.stderr


LAUGHS = "apiVersion: modelstack/v1\na: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(9)
)


def test_billion_laughs_stops_at_the_alias_bound(project: Path) -> None:
    (project / "models.yaml").write_text(LAUGHS + "models: {}\n")
    result = run_process(project, "validate", "--stack", "dev")
    assert result.located and "aliases are expanded" in result.stderr, (result.code, result.stderr[-500:])


def test_flow_nesting_50000_deep_is_located_not_a_crash(project: Path) -> None:
    (project / "models.yaml").write_text("apiVersion: modelstack/v1\nmodels: " + "[" * 50_000 + "]" * 50_000)
    result = run_process(project, "validate", "--stack", "dev")
    assert result.located and "levels deep" in result.stderr, (result.code, result.stderr[-500:])


def test_a_fifo_as_the_catalog_is_refused_without_blocking(project: Path) -> None:
    (project / "models.yaml").unlink()
    os.mkfifo(project / "models.yaml")
    result = run_process(project, "validate", "--stack", "dev", timeout=30)
    assert result.located and "not a regular file" in result.stderr, (result.code, result.stderr[-500:])


def test_dev_zero_as_the_catalog_is_refused_without_reading_it(project: Path) -> None:
    (project / "models.yaml").unlink()
    (project / "models.yaml").symlink_to("/dev/zero")
    result = run_process(project, "validate", "--stack", "dev", timeout=30)
    assert result.located, (result.code, result.stderr[-500:])


def test_a_catalog_over_the_size_bound_is_refused_unread(project: Path, run) -> None:
    from components.catalog.source import MAX_BYTES

    with open(project / "models.yaml", "ab") as stream:
        stream.write(b"# padding\n" * (MAX_BYTES // 10 + 1))
    result = run("validate", "--stack", "dev")
    assert result.located and "larger than" in result.stderr


def test_a_failing_render_writes_nothing(project: Path, run) -> None:
    (project / "models.yaml").write_bytes(CATALOG_CASES["merge-key"])
    before = files_of(project)
    assert run("render", "--stack", "dev").located
    assert files_of(project) == before
