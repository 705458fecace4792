"""A copy of the project to feed hostile input to, and the CLI run the way a user runs it."""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "models.yaml")
LOCATED = re.compile(r"^[^\n:]+:\d+:\d+: ", re.MULTILINE)
SUMMARY = re.compile(r"^\d+ error\(s\); nothing was rendered or changed\.$")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def located(self) -> bool:
        """Exit 2, and every line of stderr is `FILE:LINE:COL: …` or the closing summary."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return (
            self.code == 2
            and bool(lines)
            and all(LOCATED.match(line) or SUMMARY.match(line) for line in lines)
        )


def copy_project(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy(ROOT / name, directory / name)
    shutil.copytree(
        ROOT / "examples",
        directory / "examples",
        ignore=shutil.ignore_patterns("wheelhouse", "__pycache__"),
        dirs_exist_ok=True,
    )
    return directory


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The repository's project (stack files, catalog, build contexts) in a temporary directory."""
    return copy_project(tmp_path / "project")


def modelstack(project: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`modelstack ARGS` run in `project`, in this process."""
    from modelstack.cli import _register_optional_commands, cli

    _register_optional_commands()
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, list(args))
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def run(project: Path, monkeypatch: pytest.MonkeyPatch):
    """`run(*args)`: the CLI in the project copy."""
    return lambda *args: modelstack(project, *args, monkeypatch=monkeypatch)


MEMORY_LIMIT = 3 * 1024**3
"""Address space of a CLI process under test: an unbounded input fails inside it, not the machine."""


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_process(project: Path, *args: str, timeout: float = 60, env: dict[str, str] | None = None) -> Run:
    """`modelstack ARGS` as its own process (for inputs that could hang or crash the interpreter)."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "modelstack", *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            preexec_fn=limit_memory,
        )
    except subprocess.TimeoutExpired:
        return Run(-1, "", f"timed out after {timeout} s")
    return Run(done.returncode, done.stdout, done.stderr)


def files_of(directory: Path) -> dict[str, int]:
    """Every file below `directory` with its size (what a run must not change)."""
    return {
        str(p.relative_to(directory)): p.lstat().st_size
        for p in directory.rglob("*")
        if p.is_file() or p.is_symlink()
    }


def run_validator_on(render, out: Path) -> subprocess.CompletedProcess[str]:
    """`../shared/tools/validate_manifests.py` over `render` written to `out` (skipped without ../shared,
    a failure under CI=true)."""
    import os

    from modelstack.engine.render import write_render

    validator = ROOT.parent / "shared" / "tools" / "validate_manifests.py"
    if not validator.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{validator} is missing: CI must have ../shared beside the repository")
        pytest.skip("../shared is not beside this checkout")
    write_render(render, out)
    return subprocess.run(
        [sys.executable, str(validator), str(out)], capture_output=True, text=True, check=False
    )
