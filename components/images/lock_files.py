"""Lock files as pip reads them: every requirement pinned exactly, with a hash; includes followed once."""

from __future__ import annotations

from pathlib import Path

from components.catalog.patterns import excerpt
from components.images.problems import HASHES, MAX_INCLUDES, ContextProblem, read_text_file
from components.images.requirements import (
    PER_REQUIREMENT_OPTIONS,
    hash_problem,
    is_pinned,
    option_values,
    requirement_lines,
)


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
        text, problem = read_text_file(path, project, path.name)
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
    body, problem = read_text_file(included, project, excerpt(target).strip("'"))
    if problem is not None:
        return [ContextProblem(path.name, number, problem.message)]
    return lock_file_problems(included, project, text=body, seen=seen, constraints=kind == "-c")
