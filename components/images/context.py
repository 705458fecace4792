"""Build-context checks done at program time: a base pinned by digest, pinned dependencies, a real context.

Each check returns (file, line, message) problems so the catalog rule can name the exact line of the
Dockerfile or lock file that is wrong.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from components.catalog.base import DIGEST_REF
from components.catalog.build import BuildSpec
from components.catalog.patterns import Pattern, excerpt

if TYPE_CHECKING:
    from hashlib import _Hash

FROM = Pattern(
    r"\s*FROM\s+(?:--platform=\S+\s+)?(?P<image>\S+)(?:\s+AS\s+(?P<stage>\S+))?(?:\s.*)?", re.IGNORECASE
)
ARG = Pattern(r"\s*ARG\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:[\s=].*)?", re.IGNORECASE)
PINNED = Pattern(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[A-Za-z0-9,._-]+\])?==[0-9][A-Za-z0-9.!+_-]*(?:\s*;.*)?")
# `wheelhouse` is downloaded from the lock file (which is hashed), so it must not make renders differ
# between a machine that fetched it and one that did not.
SKIPPED_DIRS = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", "wheelhouse"}


MAX_FILE_BYTES = 1024 * 1024
"""Largest Dockerfile or lock file read: both are short text files."""
MAX_INCLUDES = 32
"""Most lock files one `lockFiles` entry may pull in through `-r`/`-c` lines."""


@dataclass(frozen=True)
class ContextProblem:
    file: str
    line: int
    message: str
    field: str = ""
    """The `build` field it is about: `context`, `dockerfile` or `lockFiles` (set by context_problems)."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def _inside(path: Path, project: Path) -> bool:
    """`path` with every link followed is `project` or below it."""
    real = path.resolve()
    return real == project or project in real.parents


def _read(path: Path, project: Path, shown: str) -> tuple[str | None, ContextProblem | None]:
    """The text of a file the catalog names: only inside the project (links followed), only a regular
    file, at most MAX_FILE_BYTES, UTF-8. Never anything else: the problem says why, not what it holds."""
    if not _inside(path, project):
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


def _uses_base_arg(image: str) -> bool:
    return image in ("$BASE", "${BASE}")


def dockerfile_problems(path: Path, text: str | None = None) -> list[ContextProblem]:
    """Every FROM must be the BASE build argument or `image@sha256:...` (or an earlier stage)."""
    stages: set[str] = set()
    args: set[str] = set()
    problems = []
    lines = (text if text is not None else path.read_text(encoding="utf-8")).splitlines()
    for number, line in enumerate(lines, start=1):
        if arg := ARG.fullmatch(line):
            args.add(arg["name"])
            continue
        match = FROM.fullmatch(line)
        if not match:
            continue
        image = match["image"]
        if _uses_base_arg(image) and "BASE" not in args:
            problems.append(
                ContextProblem(path.name, number, "FROM ${BASE} needs an `ARG BASE` line before it")
            )
        elif not (
            _uses_base_arg(image)
            or image.lower() in stages
            or DIGEST_REF.matches(image)
            or image == "scratch"
        ):
            shown = image if len(image) <= 80 else image[:79] + "…"
            problems.append(
                ContextProblem(
                    path.name,
                    number,
                    f"FROM {shown} is not pinned by digest — use `ARG BASE` + `FROM ${{BASE}}` (the catalog's "
                    "build.base) or image@sha256:<digest>",
                )
            )
        if match["stage"]:
            stages.add(match["stage"].lower())
    return problems


def _requirement_lines(text: str) -> list[tuple[int, str]]:
    """Logical lines (backslash continuations joined), comments and hash options stripped."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        text_ = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not pending:
            start = number
        if text_.endswith("\\"):
            pending += text_[:-1] + " "
            continue
        line = (pending + text_).strip()
        pending = ""
        if line:
            out.append((start, line))
    return out


def lock_file_problems(
    path: Path, project: Path | None = None, *, text: str | None = None, seen: set[Path] | None = None
) -> list[ContextProblem]:
    """Anything but `name==exact.version` (hashes allowed) resolves differently from build to build.

    A line that is wrong is quoted only as a short excerpt: a lock file named by mistake may be a file of
    credentials, and the error goes to CI logs. Included files (`-r`, `-c`) must be inside `project`
    (default: the lock file's directory); each is read once.
    """
    project = (project or path.parent).resolve()
    seen = seen if seen is not None else set()
    seen.add(path.resolve())
    if text is None:
        text, problem = _read(path, project, path.name)
        if problem is not None:
            return [problem]
    assert text is not None
    problems = []
    for number, line in _requirement_lines(text):
        requirement = re.sub(r"\s--hash[= ]\S+", "", line).strip()
        if requirement.startswith(("--hash", "--require-hashes", "--no-binary", "--only-binary")):
            continue
        if requirement.startswith(("-r ", "--requirement ", "-c ", "--constraint ")):
            name = requirement.split(None, 1)[1]
            included = path.parent / name
            if included.resolve() in seen:
                continue
            if len(seen) >= MAX_INCLUDES:
                problems.append(ContextProblem(path.name, number, f"more than {MAX_INCLUDES} included files"))
            elif not included.exists():
                problems.append(
                    ContextProblem(
                        path.name, number, f"included file {excerpt(included.name)} does not exist"
                    )
                )
            else:
                body, problem = _read(included, project, excerpt(name).strip("'"))
                problems += (
                    [ContextProblem(path.name, number, problem.message)]
                    if problem is not None
                    else lock_file_problems(included, project, text=body, seen=seen)
                )
            continue
        if requirement.startswith("-"):
            problems.append(
                ContextProblem(
                    path.name,
                    number,
                    # The option's name only: its value may be an index URL with credentials in it.
                    f"option {requirement.split()[0].split('=')[0][:30]} is not allowed in a "
                    "lock file — keep indexes out of it (the build is offline)",
                )
            )
        elif not PINNED.matches(requirement):
            problems.append(
                ContextProblem(
                    path.name,
                    number,
                    f"{excerpt(requirement, 40)} is not pinned — write name==exact.version "
                    "(e.g. from `pip freeze`), optionally with --hash",
                )
            )
    return problems


def context_problems(
    build: BuildSpec, catalog_dir: Path, project_dir: Path | None = None
) -> list[ContextProblem]:
    """Problems of a build context; every path it names must resolve inside `project_dir` (default: the
    catalog's directory), links followed, and only regular files of it are read."""
    project = (project_dir or catalog_dir).resolve()
    unresolved = catalog_dir / build.context
    if not _inside(unresolved, project):
        return [
            ContextProblem(
                build.context,
                0,
                f"build context {excerpt(build.context, 80)} resolves outside the project {project} — keep "
                "it inside the project",
                "context",
            )
        ]
    context = unresolved.resolve()
    if not context.is_dir():
        return [
            ContextProblem(
                build.context,
                0,
                f"build context {excerpt(build.context, 80)} does not exist or is not a directory",
                "context",
            )
        ]
    problems = []
    dockerfile = context / build.dockerfile
    if not dockerfile.exists() and _inside(dockerfile, project):
        problems.append(
            ContextProblem(
                build.dockerfile,
                0,
                f"Dockerfile {excerpt(build.dockerfile, 80)} not found in the context",
                "dockerfile",
            )
        )
    else:
        text, problem = _read(dockerfile, project, build.dockerfile)
        found = [problem] if problem is not None else dockerfile_problems(dockerfile, text)
        problems += [replace(p, field="dockerfile") for p in found]
    for lock in build.lock_files:
        lock_path = context / lock
        if not lock_path.exists() and _inside(lock_path, project):
            problems.append(
                ContextProblem(
                    lock, 0, f"lock file {excerpt(lock, 80)} not found in the context", "lockFiles"
                )
            )
            continue
        text, problem = _read(lock_path, project, lock)
        found = [problem] if problem is not None else lock_file_problems(lock_path, project, text=text)
        problems += [replace(p, field="lockFiles") for p in found]
    return problems


def _files(directory: Path) -> list[Path]:
    """Regular files and links of the context, not following links (the build context sends a link as a
    link, so a link out of the project is hashed as the link, never read through)."""
    found = []
    for here, dirs, files in os.walk(directory):
        base = Path(here)
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for name in [*files, *(d for d in dirs if (base / d).is_symlink())]:
            path = base / name
            if path.is_symlink() or stat.S_ISREG(path.lstat().st_mode):
                found.append(path)
        dirs[:] = [d for d in dirs if not (base / d).is_symlink()]
    return sorted(found)


def update_with_tree(digest: _Hash, directory: Path) -> None:
    """Feed every file under `directory` (relative POSIX path, then bytes, or a link's target) into
    `digest`.

    Only content counts, never where the directory lives: two clones of one commit, or the base of
    `modelstack preview --base` rendered in a temporary worktree, give the same digest.
    """
    for path in _files(directory):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        if path.is_symlink():
            digest.update(b"symlink\0" + os.readlink(path).encode())
        else:
            digest.update(path.read_bytes())


def context_hash(build: BuildSpec, catalog_dir: Path) -> str:
    """sha256 over every file of the context (path + content, or a link's target), the base and the build
    arguments."""
    context = (catalog_dir / build.context).resolve()
    digest = hashlib.sha256()
    digest.update(f"{build.base}\0{sorted(build.args.items())}\0{build.dockerfile}\0".encode())
    update_with_tree(digest, context)
    return digest.hexdigest()


def cache_key(build: BuildSpec, catalog_dir: Path) -> str:
    """Keys the registry cache: a changed lock file or base digest starts a new cache, never reusing layers."""
    context = (catalog_dir / build.context).resolve()
    digest = hashlib.sha256(build.base.encode())
    for lock in build.lock_files:
        path = context / lock
        # Only after context_problems accepted it: inside the project, a regular file.
        readable = path.is_file() and path.stat().st_size <= MAX_FILE_BYTES
        digest.update(lock.encode() + b"\0" + (path.read_bytes() if readable else b""))
    return digest.hexdigest()[:16]
