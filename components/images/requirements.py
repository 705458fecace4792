"""pip's requirements-file format as pip reads it, and what makes a requirement pinned and hashed.

The line handling is pip's own (pip 26.3, `pip/_internal/req/req_file.py`; docs/upstream-interfaces.md):
a line ending in `\\` is joined with the next one unless it is a comment line; comments (`#` at the start
or after whitespace) are stripped after joining; a requirement line is split at its first token (split on
spaces) that starts with `-` into the requirement and its per-requirement options (`--hash`,
`--config-settings`). tests/images/test_requirement_files.py checks this module against pip's functions.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from components.catalog.patterns import Pattern

COMMENT = re.compile(r"(^|\s+)#.*$")
"""pip's COMMENT_RE."""

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_EXTRAS = rf"\[\s*(?:{_NAME}(?:\s*,\s*{_NAME})*)?\s*\]"
_EXACT = r"==\s*v?[0-9][A-Za-z0-9.!+_-]*|===\s*[^\s;,]+"
PINNED = Pattern(rf"\s*{_NAME}\s*(?:{_EXTRAS})?\s*(?:{_EXACT})\s*(?:;.*)?", re.DOTALL)
"""`name[extras] == exact.version [; markers]`: one exact version (PEP 440 `==` without a wildcard, or
`===`), which is what pip's `is_pinned` and hash-checking mode ask of every requirement."""

STRONG_HASHES = {"sha256": 64, "sha384": 96, "sha512": 128}
"""pip's STRONG_HASHES (pip/_internal/utils/hashes.py), with their hex lengths."""

PER_REQUIREMENT_OPTIONS = {"--hash", "--config-settings", "-C"}
"""pip's SUPPORTED_OPTIONS_REQ: the options a requirement line may carry after the requirement."""


def is_pinned(requirement: str) -> bool:
    return PINNED.matches(requirement) and ".*" not in requirement.split(";", 1)[0]


def hash_problem(value: str) -> str | None:
    """Why a `--hash` value cannot verify anything, or None."""
    algorithm, _, digest = value.partition(":")
    if algorithm not in STRONG_HASHES:
        return f"--hash algorithm {algorithm[:10]!r} is not one pip accepts — use sha256, sha384 or sha512"
    if len(digest) != STRONG_HASHES[algorithm] or not re.fullmatch(r"[0-9a-fA-F]+", digest, re.ASCII):
        return f"--hash={algorithm}:… is not {STRONG_HASHES[algorithm]} hex digits — copy it from `pip hash`"
    return None


def join_lines(text: str) -> Iterator[tuple[int, str]]:
    """pip's join_lines: physical lines joined at a trailing backslash, numbered by their first line."""
    first: int | None = None
    parts: list[str] = []
    for number, physical in enumerate(text.splitlines(), start=1):
        line = physical
        if not line.endswith("\\") or COMMENT.match(line):
            if COMMENT.match(line):
                line = " " + line  # as pip does: the joined comment is stripped later
            if parts:
                parts.append(line)
                assert first is not None
                yield first, "".join(parts)
                parts = []
            else:
                yield number, line
        else:
            if not parts:
                first = number
            parts.append(line.strip("\\"))
    if parts:
        assert first is not None
        yield first, "".join(parts)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """pip's join_lines then ignore_comments: the lines pip parses, each with its first line number."""
    out = []
    for number, line in join_lines(text):
        stripped = COMMENT.sub("", line).strip()
        if stripped:
            out.append((number, stripped))
    return out


@dataclass(frozen=True)
class RequirementLine:
    line: int
    requirement: str
    """The requirement itself ('' on a line of options only)."""
    options: tuple[str, ...]
    """The options as pip's shlex reads them."""
    malformed: bool = False
    """The options could not be split (an unbalanced quote): pip refuses the file."""


def requirement_lines(text: str) -> list[RequirementLine]:
    """Each logical line split the way pip's break_args_options splits it."""
    out = []
    for number, line in logical_lines(text):
        tokens = line.split(" ")
        cut = next((i for i, token in enumerate(tokens) if token.startswith("-")), len(tokens))
        requirement, options = " ".join(tokens[:cut]).strip(), " ".join(tokens[cut:])
        try:
            split = tuple(shlex.split(options))
        except ValueError:
            out.append(RequirementLine(number, requirement, (), malformed=True))
            continue
        out.append(RequirementLine(number, requirement, split))
    return out


def option_values(options: tuple[str, ...], names: set[str]) -> tuple[list[str], list[str]]:
    """Values of the options in `names` (`--x=v`, `--x v`, `-Xv`), and every other option's name."""
    values: list[str] = []
    others: list[str] = []
    i = 0
    while i < len(options):
        token = options[i]
        name, eq, value = token.partition("=")
        if name in names and eq:
            values.append(value)
        elif token in names:
            if i + 1 < len(options):
                values.append(options[i + 1])
                i += 1
            else:
                values.append("")
        elif len(name) > 2 and not name.startswith("--") and name[:2] in names:
            values.append(token[2:])
        else:
            others.append(name)
        i += 1
    return values, others
