"""Build-context checks done at program time: a base pinned by digest, pinned dependencies, a real context.

Each check returns (file, line, message) problems so the catalog rule can name the exact line of the
Dockerfile or lock file that is wrong.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from components.catalog.base import DIGEST_REF
from components.catalog.build import BuildSpec
from components.catalog.patterns import Pattern

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


@dataclass(frozen=True)
class ContextProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def _uses_base_arg(image: str) -> bool:
    return image in ("$BASE", "${BASE}")


def dockerfile_problems(path: Path) -> list[ContextProblem]:
    """Every FROM must be the BASE build argument or `image@sha256:...` (or an earlier stage)."""
    stages: set[str] = set()
    args: set[str] = set()
    problems = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
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
            problems.append(
                ContextProblem(
                    path.name,
                    number,
                    f"FROM {image} is not pinned by digest — use `ARG BASE` + `FROM ${{BASE}}` (the catalog's "
                    "build.base) or image@sha256:<digest>",
                )
            )
        if match["stage"]:
            stages.add(match["stage"].lower())
    return problems


def _requirement_lines(path: Path) -> list[tuple[int, str]]:
    """Logical lines (backslash continuations joined), comments and hash options stripped."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not pending:
            start = number
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        line = (pending + text).strip()
        pending = ""
        if line:
            out.append((start, line))
    return out


def lock_file_problems(path: Path) -> list[ContextProblem]:
    """Anything but `name==exact.version` (hashes allowed) resolves differently from build to build."""
    problems = []
    for number, line in _requirement_lines(path):
        requirement = re.sub(r"\s--hash[= ]\S+", "", line).strip()
        if requirement.startswith(("--hash", "--require-hashes", "--no-binary", "--only-binary")):
            continue
        if requirement.startswith(("-r ", "--requirement ", "-c ", "--constraint ")):
            included = path.parent / requirement.split(None, 1)[1]
            problems += (
                lock_file_problems(included)
                if included.exists()
                else [ContextProblem(path.name, number, f"included file {included.name} does not exist")]
            )
            continue
        if requirement.startswith("-"):
            problems.append(
                ContextProblem(
                    path.name,
                    number,
                    f"option {requirement.split()[0]} is not allowed in a "
                    "lock file — keep indexes out of it (the build is offline)",
                )
            )
        elif not PINNED.matches(requirement):
            problems.append(
                ContextProblem(
                    path.name,
                    number,
                    f"{requirement!r} is not pinned — write name==exact.version "
                    "(e.g. from `pip freeze`), optionally with --hash",
                )
            )
    return problems


def context_problems(build: BuildSpec, catalog_dir: Path) -> list[ContextProblem]:
    context = (catalog_dir / build.context).resolve()
    if not context.is_dir():
        return [
            ContextProblem(
                build.context, 0, f"build context {build.context!r} does not exist or is not a directory"
            )
        ]
    problems = []
    dockerfile = context / build.dockerfile
    if dockerfile.is_file():
        problems += dockerfile_problems(dockerfile)
    else:
        problems.append(
            ContextProblem(build.dockerfile, 0, f"Dockerfile {build.dockerfile!r} not found in the context")
        )
    for lock in build.lock_files:
        lock_path = context / lock
        if lock_path.is_file():
            problems += lock_file_problems(lock_path)
        else:
            problems.append(ContextProblem(lock, 0, f"lock file {lock!r} not found in the context"))
    return problems


def _files(directory: Path) -> list[Path]:
    """The context's files by relative path. Only the relative parts are matched against SKIPPED_DIRS: a
    checkout that happens to live under a folder named like one must hash the same as any other."""
    return sorted(
        p
        for p in directory.rglob("*")
        if p.is_file() and not SKIPPED_DIRS & set(p.relative_to(directory).parts)
    )


def update_with_tree(digest: _Hash, directory: Path) -> None:
    """Feed every file under `directory` (relative POSIX path, then bytes) into `digest`.

    Only content counts, never where the directory lives: two clones of one commit, or the base of
    `modelstack preview --base` rendered in a temporary worktree, give the same digest.
    """
    for path in _files(directory):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())


def context_hash(build: BuildSpec, catalog_dir: Path) -> str:
    """sha256 over every file of the context (path + content), the base and the build arguments."""
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
        digest.update(lock.encode() + b"\0" + (path.read_bytes() if path.is_file() else b""))
    return digest.hexdigest()[:16]
