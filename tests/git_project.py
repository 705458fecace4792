"""A throwaway git clone of the working tree, to run `modelstack` the way a reviewer or CI does.

`clone_of_working_tree` copies the files git would commit (tracked plus untracked, not ignored), so a test
sees the code under test rather than the last commit, and commits them as the base. `run_modelstack`
runs the CLI in a subprocess with the clone's own code first on the import path, exactly like the PR
workflow runs `.venv/bin/modelstack` in its checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "modelstack tests",
    "GIT_AUTHOR_EMAIL": "tests@modelstack.invalid",
    "GIT_COMMITTER_NAME": "modelstack tests",
    "GIT_COMMITTER_EMAIL": "tests@modelstack.invalid",
}


def _files_git_would_commit(root: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (root / name).is_file()]


@dataclass(frozen=True)
class GitProject:
    root: Path

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_IDENTITY}
        done = subprocess.run(
            ["git", "-C", str(self.root), *args], capture_output=True, text=True, env=env, check=True
        )
        return done.stdout.strip()

    def commit(self, message: str) -> str:
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def edit(self, relative: str, change: Callable[[str], str]) -> None:
        path = self.root / relative
        before = path.read_text(encoding="utf-8")
        after = change(before)
        assert after != before, f"the edit of {relative} changed nothing"
        path.write_text(after, encoding="utf-8")


def clone_of_working_tree(dest: Path, branch: str = "main") -> GitProject:
    """A new repository at `dest` whose first commit (on `branch`) is today's working tree."""
    dest.mkdir(parents=True)
    for name in _files_git_would_commit(ROOT):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    project = GitProject(dest)
    project.git("init", "--quiet", "--initial-branch", branch)
    project.commit("base")
    return project


def modelstack_env(root: Path) -> dict[str, str]:
    """The environment of a `modelstack` run in `root`: its own code first, no debug tracebacks."""
    env = {k: v for k, v in os.environ.items() if k not in ("MODELSTACK_DEBUG", "PYTHONPATH")}
    return {**env, "PYTHONPATH": str(root)}


def run_modelstack(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelstack", *args],
        cwd=root,
        env=modelstack_env(root),
        capture_output=True,
        text=True,
        check=False,
    )
