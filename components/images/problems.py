"""What a build-context check reports, and the one way it reads a file the catalog names.

Each check returns (file, line, message) problems so the catalog rule can name the exact line of the
Dockerfile or lock file that is wrong; files are read only inside the project, regular, small and UTF-8.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 1024 * 1024
"""Largest Dockerfile or lock file read: both are short text files."""
MAX_INCLUDES = 32
"""Most lock files one `lockFiles` entry may pull in through `-r`/`-c` lines."""

HASHES, PIP_INSTALLS, COPY_FROM = "hashes", "pipInstalls", "copyFrom"
"""The checks a version may opt out of (`build.unchecked.<check>`)."""


@dataclass(frozen=True)
class ContextProblem:
    file: str
    line: int
    message: str
    field: str = ""
    """The `build` field it is about: `context`, `dockerfile` or `lockFiles` (set by context_problems)."""
    check: str = ""
    """The opt-out that allows it (`build.unchecked.<check>`: hashes, pipInstalls, copyFrom), or '' when
    none can."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def inside(path: Path, project: Path) -> bool:
    """`path` with every link followed is `project` or below it."""
    real = path.resolve()
    return real == project or project in real.parents


def read_text_file(path: Path, project: Path, shown: str) -> tuple[str | None, ContextProblem | None]:
    """The text of a file the catalog names: only inside the project (links followed), only a regular
    file, at most MAX_FILE_BYTES, UTF-8. Never anything else: the problem says why, not what it holds."""
    if not inside(path, project):
        return None, ContextProblem(
            shown, 0, f"{shown!r} resolves outside the project {project} — keep build files inside it"
        )
    try:
        info = path.stat()
    except OSError:
        return None, ContextProblem(shown, 0, f"{shown!r} not found")
    if not stat.S_ISREG(info.st_mode):
        return None, ContextProblem(shown, 0, f"{shown!r} is not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        return None, ContextProblem(shown, 0, f"{shown!r} is larger than {MAX_FILE_BYTES} bytes")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None, ContextProblem(shown, 0, f"{shown!r} is not a regular file")
            data = os.read(fd, MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
        return data[:MAX_FILE_BYTES].decode("utf-8"), None
    except OSError as exc:
        return None, ContextProblem(shown, 0, f"{shown!r} cannot be read: {exc.strerror}")
    except UnicodeDecodeError:
        return None, ContextProblem(shown, 0, f"{shown!r} is not UTF-8 text")
