"""Readable diffs of long strings in a plan: word-level for one-line values (PromQL, JSON, flags),
line-level for multi-line ones (config files), with only the changed part and a little context shown.

Word-level output uses git's `--word-diff=plain` notation: `[-removed-]{+added+}`; unchanged runs longer
than the context are elided as `…`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

Op = Literal["=", "-", "+"]

# A word, a run of whitespace, or one punctuation character: PromQL and JSON change at that grain
# (`> 0.8` → `> 0.5`, `v1|v2` → `v1|v2|v3`), and a reader recognizes the pieces.
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
LONG = 60
"""Strings longer than this (or with a line break) are shown as a diff, not as before → after."""
CONTEXT_TOKENS = 6
"""Non-blank tokens kept on each side of a change."""
CONTEXT_LINES = 1


@dataclass(frozen=True)
class Segment:
    op: Op
    tokens: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def is_long(value: object) -> bool:
    return isinstance(value, str) and (len(value) > LONG or "\n" in value)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def word_diff(before: str, after: str) -> list[Segment]:
    """Segments whose `=` and `-` parts spell `before` and whose `=` and `+` parts spell `after`."""
    old, new = tokens(before), tokens(after)
    segments: list[Segment] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            segments.append(Segment("=", tuple(old[i1:i2])))
            continue
        if i2 > i1:
            segments.append(Segment("-", tuple(old[i1:i2])))
        if j2 > j1:
            segments.append(Segment("+", tuple(new[j1:j2])))
    return segments


def _keep(words: tuple[str, ...], count: int, from_end: bool) -> tuple[str, ...]:
    """The shortest run at one end of `words` that holds `count` non-blank tokens."""
    seen, taken = 0, 0
    sequence = reversed(words) if from_end else iter(words)
    for token in sequence:
        if seen == count and token.strip():
            break
        taken += 1
        seen += bool(token.strip())
    return words[len(words) - taken :] if from_end else words[:taken]


def inline(segments: list[Segment], context: int | None = CONTEXT_TOKENS) -> str:
    """One line: changes marked `[-…-]{+…+}`, unchanged runs cut to `context` tokens around them."""
    parts: list[str] = []
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment.op == "-":
            parts.append(f"[-{segment.text}-]")
        elif segment.op == "+":
            parts.append(f"{{+{segment.text}+}}")
        elif context is None:
            parts.append(segment.text)
        else:
            words = segment.tokens
            head = _keep(words, context, from_end=False) if index > 0 else ()
            tail = _keep(words, context, from_end=True) if index < last else ()
            if len(head) + len(tail) >= len(words):
                parts.append(segment.text)
            else:
                parts.append("".join(head) + "…" + "".join(tail))
    return "".join(parts).replace("\n", "⏎")


def line_diff(before: str, after: str, context: int = CONTEXT_LINES) -> list[str]:
    """`- old`, `+ new` and `  same` lines, hunks separated by `…` (unified diff without headers)."""
    lines: list[str] = []
    old, new = before.splitlines(), after.splitlines()
    for group in difflib.SequenceMatcher(None, old, new, autojunk=False).get_grouped_opcodes(context):
        if lines:
            lines.append("…")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [f"  {line}" for line in old[i1:i2]]
                continue
            lines += [f"- {line}" for line in old[i1:i2]]
            lines += [f"+ {line}" for line in new[j1:j2]]
    return lines


def string_diff(before: str, after: str) -> list[str]:
    """The diff a plan shows for a long string: one word-level line, or line-level lines."""
    if "\n" in before or "\n" in after:
        return line_diff(before, after)
    return [inline(word_diff(before, after))]
