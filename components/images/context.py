"""Build-context checks done at program time: a base pinned by digest, pinned dependencies, a real context.

The Dockerfile walk (stages, COPY --from, RUN pip install) and the context as a whole live here; lock
files are read by `lock_files`, problems and safe reads are `problems`, hashing is `context_hash`.
"""

from __future__ import annotations

import posixpath
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from components.catalog.base import DIGEST_REF
from components.catalog.build import BuildSpec
from components.catalog.patterns import excerpt
from components.images.dockerfile import (
    Copy,
    Instruction,
    Stage,
    context_file,
    copy_of,
    instructions,
    pip_install,
    run_commands,
)
from components.images.lock_files import lock_file_problems
from components.images.problems import (
    COPY_FROM,
    HASHES,
    PIP_INSTALLS,
    ContextProblem,
    inside,
    read_text_file,
)
from components.images.requirements import (
    is_pinned,
)

if TYPE_CHECKING:
    pass


def _uses_base_arg(image: str) -> bool:
    return image in ("$BASE", "${BASE}")


LOCAL_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")


def _shown(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Dockerfile:
    """One pass over a Dockerfile's instructions, collecting problems."""

    def __init__(self, name: str, context: Path | None, lock_files: tuple[str, ...] | None) -> None:
        self.name = name
        self.context = context
        self.lock_files = None if lock_files is None else {posixpath.normpath(f) for f in lock_files}
        self.args: set[str] = set()
        self.stages: dict[str, Stage] = {}
        self.count = 0
        self.current = Stage("", None)
        self.problems: list[ContextProblem] = []

    def problem(self, line: int, message: str, check: str = "") -> None:
        self.problems.append(ContextProblem(self.name, line, message, check=check))

    def is_dir(self, path: str) -> bool:
        # Only a stat, and only inside the context: a COPY source outside it is not the context's anyway.
        if self.context is None:
            return False
        target = self.context / path
        try:
            return inside(target, self.context.resolve()) and target.is_dir()
        except (OSError, ValueError):  # a NUL byte, a loop of links: not a directory of the context
            return False

    def image_problem(self, ref: str) -> str | None:
        """Why `ref` (a FROM, COPY --from or mount from=) is an image that can change, or None."""
        if ref.lower() in self.stages or (ref.isascii() and ref.isdigit() and int(ref) < self.count):
            return None
        if _uses_base_arg(ref):
            return None if "BASE" in self.args else "${BASE} needs an `ARG BASE` line before it"
        if DIGEST_REF.matches(ref) or ref == "scratch":
            return None
        return f"{_shown(ref, 80)} is not pinned by digest"

    def visit(self, ins: Instruction) -> None:
        handlers = {
            "ARG": self._arg,
            "FROM": self._from,
            "WORKDIR": self._workdir,
            "COPY": self._copy,
            "ADD": self._add,
            "RUN": self._run,
        }
        if (handler := handlers.get(ins.keyword)) is not None:
            handler(ins)

    def _arg(self, ins: Instruction) -> None:
        for word in ins.rest.split():
            name = word.split("=", 1)[0]
            if name.isidentifier():
                self.args.add(name)

    def _from(self, ins: Instruction) -> None:
        words = ins.rest.split()
        image = words[0] if words else ""
        if _uses_base_arg(image) and "BASE" not in self.args:
            self.problem(ins.line, "FROM ${BASE} needs an `ARG BASE` line before it")
        elif self.image_problem(image) is not None:
            self.problem(
                ins.line,
                f"FROM {_shown(image, 80)} is not pinned by digest — use `ARG BASE` + `FROM ${{BASE}}` (the "
                "catalog's build.base) or image@sha256:<digest>",
            )
        parent = self.stages.get(image.lower())
        name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(self.count)
        self.current = Stage(name, parent, parent.workdir if parent else "/")
        self.stages[name.lower()] = self.current
        self.stages.setdefault(str(self.count), self.current)
        self.count += 1

    def _workdir(self, ins: Instruction) -> None:
        path = ins.rest.strip().strip('"')
        self.current.workdir = posixpath.normpath(posixpath.join(self.current.workdir, path))

    def _copy(self, ins: Instruction) -> None:
        source = ins.flag("from")
        if source is not None and (why := self.image_problem(source)) is not None:
            self.problem(
                ins.line,
                f"COPY --from={why} — copy from a build stage (FROM image@sha256:… AS name, then "
                "--from=name) or from image@sha256:<digest>",
                COPY_FROM,
            )
        if (copy := copy_of(ins, self.current.workdir)) is not None:
            self.current.copies.append(copy)

    def _add(self, ins: Instruction) -> None:
        if (copy := copy_of(ins, self.current.workdir)) is not None and copy.stage is None:
            self.current.copies.append(copy)

    def _mounts(self, ins: Instruction) -> list[Copy]:
        """RUN --mount bind mounts (the context's files or a stage's, seen at their target)."""
        mounts = []
        for flag in ins.flags:
            if not flag.startswith("--mount="):
                continue
            fields = dict(part.partition("=")[::2] for part in flag[len("--mount=") :].split(","))
            origin = fields.get("from")
            if origin is not None and (why := self.image_problem(origin)) is not None:
                self.problem(
                    ins.line,
                    f"RUN --mount from={why} — mount a build stage or image@sha256:<digest>",
                    COPY_FROM,
                )
            target = fields.get("target") or fields.get("dst") or fields.get("destination")
            if fields.get("type", "bind") == "bind" and target:
                dest = posixpath.normpath(posixpath.join(self.current.workdir, target))
                mounts.append(Copy((fields.get("source") or fields.get("src") or ".",), dest, origin))
        return mounts

    def _run(self, ins: Instruction) -> None:
        mounts = self._mounts(ins)
        stage = Stage("", self.current, self.current.workdir, mounts) if mounts else self.current
        for command in run_commands(ins):
            if (pip := pip_install(command)) is not None:
                self._pip(ins, stage, pip.requirements, pip.files, pip.flags)

    def _pip(
        self,
        ins: Instruction,
        stage: Stage,
        requirements: tuple[str, ...],
        files: tuple[tuple[str, str], ...],
        flags: frozenset[str],
    ) -> None:
        lock = "put it in a lock file of build.lockFiles as name==exact.version with --hash, and install it with -r <file> --require-hashes"
        for requirement in requirements:
            line, shown = ins.line_of(requirement), _shown(requirement, 60)
            if requirement.startswith("-e "):
                self.problem(
                    line,
                    f"pip install -e {_shown(requirement[3:])} is an editable install, not a pinned one — {lock}",
                    PIP_INSTALLS,
                )
            elif "$" in requirement or "`" in requirement:
                self.problem(
                    line,
                    f"pip install {shown} is not a literal requirement, so its pin cannot be checked — {lock}",
                    PIP_INSTALLS,
                )
            elif _is_local(requirement):
                if "--no-deps" not in flags:
                    self.problem(
                        line,
                        f"pip install {shown} (a file of the image) resolves its dependencies at build time, "
                        "unpinned — add --no-deps and install the dependencies from a lock file (-r <file> "
                        "--require-hashes)",
                        PIP_INSTALLS,
                    )
            elif not is_pinned(requirement):
                self.problem(line, f"pip install {shown} is not pinned — {lock}", PIP_INSTALLS)
            else:
                self.problem(
                    line,
                    f"pip install {shown} is pinned but not hash-checked (a requirement on the command line "
                    f"cannot carry --hash) — {lock}",
                    HASHES,
                )
        for kind, path in files:
            line = ins.line_of(path)
            source = context_file(
                self.stages, stage, posixpath.normpath(posixpath.join(stage.workdir, path)), self.is_dir
            )
            if source is None:
                self.problem(
                    line,
                    f"pip install {kind} {_shown(path)} is not a file copied from the build context, so its "
                    "pins cannot be checked — COPY the lock file from the context (and list it in "
                    "build.lockFiles), then install it from where it was copied",
                    PIP_INSTALLS,
                )
            elif self.lock_files is not None and posixpath.normpath(source) not in self.lock_files:
                self.problem(
                    line,
                    f"pip install {kind} {_shown(path)} installs {_shown(source)} of the context, which is not "
                    f"in build.lockFiles — add {_shown(source)!r} to lockFiles so its pins and hashes are "
                    "checked and it keys the build cache",
                    PIP_INSTALLS,
                )
        if any(kind == "-r" for kind, _ in files) and "--require-hashes" not in flags:
            self.problem(
                ins.line_of("install"),
                "pip install -r … without --require-hashes — add it, so pip refuses any requirement or "
                "dependency whose hash is not in the lock file (pip's hash-checking mode)",
                HASHES,
            )


def _is_local(requirement: str) -> bool:
    """A path of the image (a wheel, an archive, a project directory), not a name from an index."""
    if (
        "://" in requirement
        or " @ " in requirement
        or requirement.startswith(("git+", "hg+", "svn+", "bzr+"))
    ):
        return False
    return (
        requirement.startswith((".", "/", "~")) or "/" in requirement or requirement.endswith(LOCAL_SUFFIXES)
    )


def dockerfile_problems(
    path: Path,
    text: str | None = None,
    *,
    context: Path | None = None,
    lock_files: tuple[str, ...] | None = None,
) -> list[ContextProblem]:
    """What a build could pull in unpinned: a FROM, COPY --from or RUN --mount from= of an image not
    pinned by digest (stages and `${BASE}` are fine), a `pip install` of anything but a lock file of
    `lock_files` copied from `context` with --require-hashes."""
    check = _Dockerfile(path.name, context, lock_files)
    for ins in instructions(text if text is not None else path.read_text(encoding="utf-8")):
        check.visit(ins)
    return check.problems


def context_problems(
    build: BuildSpec, catalog_dir: Path, project_dir: Path | None = None
) -> list[ContextProblem]:
    """Problems of a build context; every path it names must resolve inside `project_dir` (default: the
    catalog's directory), links followed, and only regular files of it are read."""
    project = (project_dir or catalog_dir).resolve()
    unresolved = catalog_dir / build.context
    if not inside(unresolved, project):
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
    if not dockerfile.exists() and inside(dockerfile, project):
        problems.append(
            ContextProblem(
                build.dockerfile,
                0,
                f"Dockerfile {excerpt(build.dockerfile, 80)} not found in the context",
                "dockerfile",
            )
        )
    else:
        text, problem = read_text_file(dockerfile, project, build.dockerfile)
        found = (
            [problem]
            if problem is not None
            else dockerfile_problems(dockerfile, text, context=context, lock_files=build.lock_files)
        )
        problems += [replace(p, field="dockerfile") for p in found]
    for lock in build.lock_files:
        lock_path = context / lock
        if not lock_path.exists() and inside(lock_path, project):
            problems.append(
                ContextProblem(
                    lock, 0, f"lock file {excerpt(lock, 80)} not found in the context", "lockFiles"
                )
            )
            continue
        text, problem = read_text_file(lock_path, project, lock)
        found = [problem] if problem is not None else lock_file_problems(lock_path, project, text=text)
        problems += [replace(p, field="lockFiles") for p in found]
    return problems
