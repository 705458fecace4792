"""What git says about the catalog: when a model's current weights were set, and the loop's own commits.

The release loop measures a weight's age from the commit that set it, never from its own runs or the wall
clock: the first-parent history of the catalog (a pull request's merge counts, not its branch's commits)
is walked back from HEAD while the model's weights stay what they are now; the oldest commit of that run
set them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from modelstack.release.edits import ReleaseError, current_weights

MAX_COMMITS = 1000
LOOP_IDENTITY = {"user.name": "modelstack release loop", "user.email": "release-loop@modelstack.invalid"}


class GitError(RuntimeError):
    """A git command failed; the message carries its command line and output."""


@dataclass(frozen=True)
class Repo:
    root: Path

    @classmethod
    def containing(cls, path: Path) -> Repo:
        top = _git(path if path.is_dir() else path.parent, "rev-parse", "--show-toplevel")
        return cls(Path(top))

    def git(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        return _git(self.root, *args, env=env)

    def relative(self, path: Path) -> str:
        return os.path.relpath(path.resolve(), self.root.resolve())

    def is_clean(self, path: Path) -> bool:
        return not self.git("status", "--porcelain", "--", self.relative(path))

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def show(self, revision: str, path: Path) -> str | None:
        try:
            return self.git("show", f"{revision}:{self.relative(path)}")
        except GitError:
            return None  # the file did not exist there

    def commit(self, path: Path, message: str, at: datetime | None) -> str:
        """Commit `path` only (whatever else is staged stays staged), dated `at` when given."""
        relative = self.relative(path)
        self.git("add", "--", relative)
        self.git(
            *self._identity(),
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            message,
            "--",
            relative,
            env=_dated(at),
        )
        return self.head()

    def revert(self, commit: str, message: str, at: datetime | None) -> str:
        self.git(*self._identity(), "revert", "--no-edit", "--no-commit", commit, env=_dated(at))
        self.git(*self._identity(), "commit", "--quiet", "--no-verify", "-m", message, env=_dated(at))
        return self.head()

    def add_note(self, commit: str, note: str, ref: str) -> None:
        self.git(*self._identity(), "notes", f"--ref={ref}", "append", "-m", note, commit)

    def _identity(self) -> list[str]:
        # CI configures the bot's identity; without one the loop still commits, as itself.
        try:
            configured = self.git("config", "user.email")
        except GitError:
            configured = ""
        if configured:
            return []
        return [arg for key, value in LOOP_IDENTITY.items() for arg in ("-c", f"{key}={value}")]


def _dated(at: datetime | None) -> dict[str, str] | None:
    if at is None:
        return None
    stamp = at.astimezone(UTC).isoformat()
    return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}


def _git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run(
        ["git", "-C", str(cwd), *args],
        capture_output=True,
        text=True,
        check=False,
        env=full_env,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise GitError(f"git {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-1000:]}")
    return done.stdout.strip()


@dataclass(frozen=True)
class Applied:
    """The commit that set a model's current weights, and its commit time."""

    commit: str
    at: datetime


def weights_applied(repo: Repo, catalog: Path, model: str, weights: Mapping[str, int]) -> Applied:
    """The oldest first-parent commit since which `model` has had `weights` (see the module docstring)."""
    log = repo.git(
        "log", "--first-parent", f"--max-count={MAX_COMMITS}", "--format=%H %ct", "--", repo.relative(catalog)
    )
    found: Applied | None = None
    for line in log.splitlines():
        commit, stamp = line.split()
        text = repo.show(commit, catalog)
        try:
            then = current_weights(text, model) if text is not None else None
        except ReleaseError:
            then = None
        if then != dict(weights):
            break
        found = Applied(commit, datetime.fromtimestamp(int(stamp), tz=UTC))
    if found is None:
        raise ReleaseError(
            f"no commit of {repo.relative(catalog)} gives {model} its current weights — commit the catalog first"
        )
    return found
