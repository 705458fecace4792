"""Build-context checks done at program time: a base pinned by digest, pinned dependencies, a real context.

Each check returns (file, line, message) problems so the catalog rule can name the exact line of the
Dockerfile or lock file that is wrong.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
from dataclasses import dataclass, replace
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
from components.images.requirements import (
    PER_REQUIREMENT_OPTIONS,
    hash_problem,
    is_pinned,
    option_values,
    requirement_lines,
)

if TYPE_CHECKING:
    from hashlib import _Hash

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
    check: str = ""
    """The opt-out that allows it (`build.unchecked.<check>`: hashes, pipInstalls, copyFrom), or '' when
    none can."""

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


HASHES, PIP_INSTALLS, COPY_FROM = "hashes", "pipInstalls", "copyFrom"
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
            return _inside(target, self.context.resolve()) and target.is_dir()
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


def lock_file_problems(
    path: Path,
    project: Path | None = None,
    *,
    text: str | None = None,
    seen: set[Path] | None = None,
    constraints: bool = False,
) -> list[ContextProblem]:
    """Anything but `name==exact.version --hash=…` resolves or downloads differently from build to build.

    A line that is wrong is quoted only as a short excerpt: a lock file named by mistake may be a file of
    credentials, and the error goes to CI logs. Included files (`-r`, `-c`) must be inside `project`
    (default: the lock file's directory); each is read once. Entries of a constraints file (`-c`) must be
    pinned; hashes are asked of requirements, as pip's hash-checking mode does.
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
    for entry in requirement_lines(text):
        number = entry.line
        if entry.malformed:
            problems.append(
                ContextProblem(
                    path.name,
                    number,
                    "this line's options cannot be split (an unbalanced quote) — pip refuses it",
                )
            )
            continue
        if not entry.requirement:
            problems += _option_line(path, project, number, entry.options, seen)
            continue
        hashes, _ = option_values(entry.options, {"--hash"})
        _, unknown = option_values(entry.options, PER_REQUIREMENT_OPTIONS)
        unknown = [o for o in unknown if o.startswith("-")]
        if unknown:
            problems.append(
                ContextProblem(
                    path.name,
                    number,
                    f"option {unknown[0][:30]} is not a per-requirement option — a requirement line takes "
                    "only --hash and --config-settings",
                )
            )
        if not is_pinned(entry.requirement):
            problems.append(
                ContextProblem(
                    path.name,
                    number,
                    f"{excerpt(entry.requirement, 40)} is not pinned — write name==exact.version (e.g. from "
                    "`pip freeze`) with --hash=sha256:… (e.g. `pip-compile --generate-hashes`)",
                )
            )
            continue
        bad = [why for value in hashes if (why := hash_problem(value))]
        if bad:
            problems.append(ContextProblem(path.name, number, bad[0]))
        elif not hashes and not constraints:
            problems.append(
                ContextProblem(
                    path.name,
                    number,
                    f"{excerpt(entry.requirement, 40)} has no --hash — pip's hash-checking mode needs one on "
                    "every requirement; add --hash=sha256:<digest of each wheel> (`pip hash`, or "
                    "`pip-compile --generate-hashes`)",
                    check=HASHES,
                )
            )
    return problems


def _option_line(
    path: Path, project: Path, number: int, options: tuple[str, ...], seen: set[Path]
) -> list[ContextProblem]:
    """A line of options only: includes (-r, -c) are checked in turn; install modes are fine; anything
    else (an index, find-links, an editable) is refused."""
    head = options[0] if options else ""
    name = head.split("=", 1)[0]
    if name in ("--require-hashes", "--no-binary", "--only-binary", "--prefer-binary"):
        return []
    include = {"-r": "-r", "--requirement": "-r", "-c": "-c", "--constraint": "-c"}
    kind = include.get(name) or (
        include.get(head[:2]) if len(head) > 2 and not head.startswith("--") else None
    )
    if kind is None:
        return [
            ContextProblem(
                path.name,
                number,
                # The option's name only: its value may be an index URL with credentials in it.
                f"option {name[:30]} is not allowed in a lock file — keep indexes out of it (the build is "
                "offline)",
            )
        ]
    values, _ = option_values(options[:2], {"-r", "--requirement", "-c", "--constraint"})
    target = values[0] if values else ""
    included = path.parent / target
    try:
        if included.resolve() in seen:
            return []
    except (OSError, ValueError):
        return [ContextProblem(path.name, number, f"included file {excerpt(target)} is not a file name")]
    if len(seen) >= MAX_INCLUDES:
        return [ContextProblem(path.name, number, f"more than {MAX_INCLUDES} included files")]
    if not target or not included.exists():
        return [ContextProblem(path.name, number, f"included file {excerpt(included.name)} does not exist")]
    body, problem = _read(included, project, excerpt(target).strip("'"))
    if problem is not None:
        return [ContextProblem(path.name, number, problem.message)]
    return lock_file_problems(included, project, text=body, seen=seen, constraints=kind == "-c")


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
        found = (
            [problem]
            if problem is not None
            else dockerfile_problems(dockerfile, text, context=context, lock_files=build.lock_files)
        )
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
