"""Manifests as YAML, byte for byte what PyYAML writes, several times faster.

PyYAML spends most of a render's writing time in its Python representer and resolver, once per node.
Manifests are plain trees of mappings, lists and short scalars that mostly repeat (labels, names, ports),
so this emitter writes the block layout PyYAML uses (sorted keys, 2-space indent, sequences in a
mapping not indented), folds a long scalar at the spaces PyYAML's emitter breaks at (the KEDA triggers'
and alert rules' PromQL), and decides each distinct scalar's spelling once. Whatever it cannot be sure to
spell as PyYAML does (non-ASCII or multi-line text, floats, non-string or very long keys) sends the whole
document to PyYAML instead, so the output never differs: the tests compare both on generated documents
and on whole renders.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

WIDTH = 120
"""PyYAML folds a scalar at a space once its line passes this column; lines up to it are never folded."""

_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_FIRST_CHAR_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
_resolver = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"


class _NeedsPyYAMLError(Exception):
    """The document holds something only PyYAML itself is sure to spell right."""


def pyyaml_dump(value: Any) -> str:
    """The reference: how every render's files were written before this module."""
    return yaml.dump(
        value, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=WIDTH, allow_unicode=True
    )


def _plain_allowed(text: str) -> bool:
    """PyYAML's `analyze_scalar` verdict for block plain style, for printable single-line ASCII."""
    if not text or text[0] == " " or text[-1] == " ":
        return False
    if text.startswith(("---", "...")):
        return False
    first = text[0]
    if first in _FIRST_CHAR_INDICATORS:
        return False
    if first in "?:-" and (len(text) == 1 or text[1] == " "):
        return False
    if ": " in text or text.endswith(":") or " #" in text:
        return False
    tag: str = _resolver.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag == _STR_TAG


def _spell(text: str) -> str:
    """The scalar as PyYAML writes it: plain when that reads back as the same string, else single-quoted."""
    if not _PRINTABLE_ASCII.fullmatch(text):  # not `$`: it matches before a final newline
        raise _NeedsPyYAMLError
    if _plain_allowed(text):
        return text
    return "'" + text.replace("'", "''") + "'"


def _folded(prefix: str, spelled: str, indent: int) -> str:
    """A plain or single-quoted scalar after `prefix` as PyYAML's `write_plain` / `write_single_quoted`
    write it: a lone space (not the text's first or last character) becomes a line break and `indent`
    spaces when the line has already passed the width; runs of spaces are never broken."""
    quoted = spelled[0] == "'"
    body = spelled[1:-1] if quoted else spelled
    out = [prefix, "'"] if quoted else [prefix]
    line_column = len(prefix) + quoted  # the column of body[start]
    last = len(body) - 1
    start = 0
    for position, char in enumerate(body):
        if char != " " or position in (0, last):
            continue
        if body[position - 1] == " " or body[position + 1] == " ":
            continue
        if line_column + position - start > WIDTH:
            out.append(body[start:position])
            out.append("\n" + " " * indent)
            start = position + 1
            line_column = indent
    out.append(body[start:])
    if quoted:
        out.append("'")
    return "".join(out)


class _Emitter:
    __slots__ = ("lines", "spelled")

    def __init__(self, spelled: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.spelled = spelled

    def string(self, text: str) -> str:
        spelled = self.spelled.get(text)
        if spelled is None:
            spelled = self.spelled[text] = _spell(text)
        return spelled

    def scalar(self, value: Any) -> str:
        kind = type(value)
        if kind is str:
            return self.string(value)
        if kind is bool:
            return "true" if value else "false"
        if kind is int:
            return str(value)
        if value is None:
            return "null"
        raise _NeedsPyYAMLError  # floats: PyYAML's spelling of them is its own

    def line(self, prefix: str, text: str, indent: int) -> None:
        """`prefix + text`, folded as PyYAML folds a scalar past the width (continued at `indent`)."""
        if len(prefix) + len(text) > WIDTH and " " in text:
            self.lines.append(_folded(prefix, text, indent))
        else:
            self.lines.append(prefix + text)

    def mapping(self, value: dict[Any, Any], indent: int, first_prefix: str | None = None) -> None:
        """A non-empty mapping at `indent`; its first key may continue a `- ` line (`first_prefix`)."""
        pad = " " * indent
        prefix = pad if first_prefix is None else first_prefix
        for key in sorted(value):
            # A key over 128 characters becomes a `? ` complex key in PyYAML.
            if type(key) is not str or len(key) > 100:
                raise _NeedsPyYAMLError
            head = prefix + self.string(key) + ":"
            prefix = pad
            self.value(value[key], head, indent)

    def sequence(self, value: list[Any], indent: int, first_prefix: str | None = None) -> None:
        pad = " " * indent
        prefix = pad if first_prefix is None else first_prefix
        for item in value:
            head = prefix + "-"
            prefix = pad
            kind = type(item)
            if kind is dict and item:
                self.mapping(item, indent + 2, head + " ")
            elif kind is list and item:
                self.sequence(item, indent + 2, head + " ")
            else:
                self.line(head + " ", self._leaf(item), indent + 2)

    def value(self, value: Any, head: str, indent: int) -> None:
        """A mapping's value after `head` (`key:`), on the same line when it is a leaf."""
        kind = type(value)
        if kind is dict and value:
            self.lines.append(head)
            self.mapping(value, indent + 2)
        elif kind is list and value:
            self.lines.append(head)
            # PyYAML does not indent a block sequence that is a mapping's value.
            self.sequence(value, indent)
        else:
            self.line(head + " ", self._leaf(value), indent + 2)

    def _leaf(self, value: Any) -> str:
        kind = type(value)
        if kind is dict or kind is list:
            return "{}" if kind is dict else "[]"  # empty: PyYAML writes them in flow style
        return self.scalar(value)


# Spellings of the strings seen so far: a render repeats the same labels and names thousands of times.
_SPELLED: dict[str, str] = {}
_SPELLED_LIMIT = 200_000


def dump(value: Any) -> str:
    """`value` (a manifest) as YAML, identical to `pyyaml_dump(value)`."""
    if type(value) is not dict or not value:
        return pyyaml_dump(value)
    if len(_SPELLED) > _SPELLED_LIMIT:
        _SPELLED.clear()
    emitter = _Emitter(_SPELLED)
    try:
        emitter.mapping(value, 0)
    except (_NeedsPyYAMLError, TypeError):  # TypeError: keys that do not sort against each other
        return pyyaml_dump(value)
    emitter.lines.append("")
    return "\n".join(emitter.lines)
