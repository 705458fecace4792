"""Located problems: every catalog or stack-config error names its file, line, column and field path."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

PathPart = str | int
Path = tuple[PathPart, ...]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem found by a rule, located by its field path only (the loader adds file positions)."""

    path: Path
    message: str
    severity: Severity = Severity.ERROR


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    column: int
    path: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        prefix = "" if self.severity is Severity.ERROR else "warning: "
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {prefix}{where}{self.message}"


class CatalogError(Exception):
    """Invalid catalog or stack configuration; `problems` holds every one found, in file order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column, p.path))
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]


def format_path(path: Iterable[PathPart]) -> str:
    text = ""
    for part in path:
        if isinstance(part, str) and not part.isprintable():
            # A key with a line break or a control character would split the one-line message.
            text += f"[{part[:60]!r}]"
        else:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' — did you mean 'x'?' or '' (a suffix for messages)."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" — did you mean {close[0]!r}?" if close else ""
