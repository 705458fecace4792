"""Bounded YAML loading that remembers where every value came from, and refuses duplicate keys.

The catalog and the stack files are input a reviewer approves, but the loader still treats them as
hostile: it reads only regular files, at most `MAX_BYTES` of them, strict UTF-8 without control
characters, and builds the data from the parser's events itself (iteratively, so no nesting can exhaust
the stack) with at most `MAX_DEPTH` levels and `MAX_VALUES` values after expanding aliases (a
"billion laughs" document stops at the bound instead of at the machine's memory). YAML tags and merge
keys are refused: neither Pulumi nor the schema gives them a meaning, and `!!python/…` must never reach
a constructor. Every refusal is a located Problem, like any other input error.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from components.catalog.errors import CatalogError, Path, Problem, format_path

YamlLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 16 * 1024 * 1024
"""Largest file read (a catalog of 10,000 models is about 16 MiB)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (the schema's deepest field is about ten levels down)."""
MAX_VALUES = 1_000_000
"""Most values (scalars, mappings, lists) a document may hold once its aliases are expanded."""

# What YAML 1.1 allows in a stream (PyYAML's Reader.NON_PRINTABLE), so the refusal is located here.
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class SourceMap:
    """Line/column (1-based) of every value and mapping key in one YAML file."""

    file: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    scalars: set[Path] = field(default_factory=set)
    texts: dict[Path, str] = field(default_factory=dict)
    """The source text of plain (unquoted) scalars, when the loader was asked to keep it."""

    def locate(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Position of `path`, or of its nearest ancestor that exists in the file.

        A scalar is located at its value; a mapping or list at its key (where a reader looks for it).
        """
        return locate_in(self.values, self.keys, self.scalars, path, key=key)

    def problem(self, path: Path, message: str, *, key: bool = False, shown: Path | None = None) -> Problem:
        line, col = self.locate(path, key=key)
        return Problem(self.file, line, col, format_path(shown if shown is not None else path), message)


def locate_in(
    values: dict[Path, tuple[int, int]],
    keys: dict[Path, tuple[int, int]],
    scalars: set[Path],
    path: Path,
    *,
    key: bool = False,
) -> tuple[int, int]:
    """`SourceMap.locate` over the given positions."""
    for end in range(len(path), -1, -1):
        prefix = path[:end]
        if not key and prefix in scalars:
            return values[prefix]
        if prefix in keys:
            return keys[prefix]
        if prefix in values:
            return values[prefix]
    return (1, 1)


def _fail(name: str, where: tuple[int, int], message: str) -> CatalogError:
    return CatalogError([Problem(name, where[0], where[1], "", message)])


def read_text(path: FsPath, name: str, max_bytes: int = MAX_BYTES) -> str:
    """The file's text: a regular file only (a FIFO would block, a device would never end), at most
    `max_bytes`, strict UTF-8 (a leading byte-order mark is dropped). CatalogError otherwise."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise _fail(name, (1, 1), f"cannot read the file: {exc.strerror} — check the path") from None
    if not stat.S_ISREG(info.st_mode):
        raise _fail(name, (1, 1), "is not a regular file (a directory, FIFO or device) — name a YAML file")
    too_big = f"is larger than {max_bytes} bytes, the most that is read — split it or remove what is unused"
    if info.st_size > max_bytes:
        raise _fail(name, (1, 1), too_big)
    try:
        # O_NONBLOCK: had the file been swapped for a FIFO since the stat, opening it must not block.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise _fail(name, (1, 1), f"cannot read the file: {exc.strerror} — check the path") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _fail(
                name, (1, 1), "is not a regular file (a directory, FIFO or device) — name a YAML file"
            )
        chunks, size = [], 0
        while size <= max_bytes and (chunk := os.read(fd, min(1 << 20, max_bytes + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _fail(name, (1, 1), f"cannot read the file: {exc.strerror} — check the path") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise _fail(name, (1, 1), too_big)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[data.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8", "replace")) + 1
        raise _fail(
            name,
            (line, column),
            f"the file is not UTF-8 (byte 0x{data[exc.start]:02x} here) — save it as UTF-8",
        ) from None
    text = text.removeprefix("\ufeff")
    if bad := _NON_PRINTABLE.search(text):
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        raise _fail(
            name,
            (line, column),
            f"control character U+{ord(bad.group()):04X} is not allowed in YAML — remove it (inside double "
            'quotes, write it as an escape such as "\\t")',
        )
    return text


@dataclass
class _Frame:
    """A mapping or list being built."""

    path: Path
    value: dict[Any, Any] | list[Any]
    start: tuple[int, int]
    anchor: str | None
    first_value: int
    """`EventBuilder.count` when it opened: how many values its subtree adds."""
    first_logged: int
    depth: int
    record: bool
    """False for the value of a duplicate key: built (so anchors in it resolve) but neither located nor kept."""
    key: Any = None
    has_key: bool = False
    duplicate: bool = False
    """The current key repeats an earlier one: its value is built but not kept."""
    height: int = 0
    """Deepest nesting below it so far."""


@dataclass
class _Anchor:
    value: Any
    path: Path
    values: int
    height: int
    located: list[tuple[Path, str, tuple[int, int]]]
    """Positions inside it, relative to its path: copied wherever an alias repeats it."""


class ScalarReader:
    """How plain scalars read: PyYAML's resolver and constructor, and what they answered so far."""

    def __init__(self) -> None:
        self.loader = YamlLoader("")
        self.resolved: dict[tuple[str, tuple[bool, bool]], str] = {}
        self.constructed: dict[tuple[str, str, str | None], Any] = {}


class EventBuilder:
    """Plain data plus positions from a stream of parser events, without recursion."""

    def __init__(
        self,
        source: SourceMap,
        keep_text: bool,
        *,
        base: Path = (),
        lines: int = 0,
        depth: int = 0,
        scalars: ScalarReader | None = None,
    ) -> None:
        self.source = source
        self.keep_text = keep_text
        self._base = base
        """Where the parsed text sits in a larger document (`load_catalog_yaml`'s entries): the path of
        its root, the lines above it and the levels of nesting above it."""
        self._lines = lines
        self._depth = depth
        # Scalar resolution only: shared by the parts of one file (`ScalarReader`).
        self._scalars = scalars if scalars is not None else ScalarReader()
        self.problems: list[Problem] = []
        self.count = 0
        self._stack: list[_Frame] = []
        self._anchors: dict[str, _Anchor] = {}
        self._open_anchors: list[str] = []
        """Anchors of the collections being built, outermost first (their positions are logged)."""
        self._log: list[tuple[Path, str, tuple[int, int]]] = []
        self._documents = 0
        self.result: Any = None

    # -- positions -------------------------------------------------------------------------------------
    def _locate(self, path: Path, kind: str, where: tuple[int, int]) -> None:
        if kind == "key":
            self.source.keys[path] = where
        else:
            self.source.values[path] = where
            if kind == "scalar":
                self.source.scalars.add(path)
        if self._open_anchors:
            self._log.append((path, kind, where))

    def _fail(self, where: tuple[int, int], message: str) -> CatalogError:
        return _fail(self.source.file, where, message)

    def _pos(self, mark: Any) -> tuple[int, int]:
        return (mark.line + 1 + self._lines, mark.column + 1)

    # -- events ----------------------------------------------------------------------------------------
    def feed(self, event: yaml.Event) -> None:
        # By exact type, commonest first: the parser yields these classes themselves, never subclasses,
        # and a catalog is ~150,000 events.
        kind = type(event)
        if kind is yaml.ScalarEvent:
            if event.tag is not None:  # type: ignore[attr-defined]
                self._check_tag(event, scalar=True)
            self._scalar(event)  # type: ignore[arg-type]
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            self._check_tag(event, scalar=False)
            self._open(event)  # type: ignore[arg-type]
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            self._close()
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)
        elif isinstance(event, yaml.DocumentStartEvent):
            self._documents += 1
            if self._documents > 1:
                raise self._fail(
                    self._pos(event.start_mark),
                    "a second YAML document ('---') — the file holds one; remove it",
                )

    def _check_tag(self, event: Any, *, scalar: bool) -> None:
        tag = event.tag
        if tag is None or tag == "!" or (scalar and tag == _STR_TAG):
            return
        shown = "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag
        raise self._fail(
            self._pos(event.start_mark),
            f"YAML tag {shown[:60]!r} is not supported — remove it; write the value plainly "
            "(quote it to make it text)",
        )

    def _slot(self, where: tuple[int, int]) -> tuple[_Frame | None, Path | None, bool]:
        """The frame a new value goes into, its path (None while it is a mapping key) and whether it is located."""
        if not self._stack:
            return None, self._base, True
        frame = self._stack[-1]
        if isinstance(frame.value, dict):
            if not frame.has_key:
                return frame, None, frame.record
            return frame, (*frame.path, frame.key), frame.record and not frame.duplicate
        return frame, (*frame.path, len(frame.value)), frame.record

    def _count(self, values: int, where: tuple[int, int]) -> None:
        self.count += values
        if self.count > MAX_VALUES:
            raise self._fail(
                where,
                f"the document holds more than {MAX_VALUES} values once its aliases are expanded — "
                "remove the repetition (is it a 'billion laughs' document?)",
            )

    def _depth_ok(self, depth: int, where: tuple[int, int]) -> None:
        if depth > MAX_DEPTH:
            raise self._fail(where, f"nested more than {MAX_DEPTH} levels deep — flatten it")

    def _scalar(self, event: yaml.ScalarEvent) -> None:
        where = self._pos(event.start_mark)
        self._count(1, where)
        value = self._construct(event, where)
        frame, path, record = self._slot(where)
        if event.anchor is not None:
            self._anchors[event.anchor] = _Anchor(value, path or (), 1, 0, [])
        if frame is not None and path is None:
            self._key(frame, value, where)
            return
        assert path is not None
        if record:
            self._locate(path, "scalar", where)
            if self.keep_text and event.implicit[0] and not event.style:
                self.source.texts[path] = event.value
        self._place(frame, value)

    def _construct(self, event: yaml.ScalarEvent, where: tuple[int, int]) -> Any:
        tag = event.tag
        if tag is None:
            # A catalog repeats a few hundred plain scalars (names, sizes, true, 1) tens of thousands of
            # times; the resolver's regular expressions were a quarter of loading one.
            memo = (event.value, event.implicit)
            tag = self._scalars.resolved.get(memo)
            if tag is None:
                tag = self._scalars.loader.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
                self._scalars.resolved[memo] = tag
        if tag in (_STR_TAG, "!"):
            return event.value
        if tag == _MERGE_TAG:
            raise self._fail(where, "merge keys ('<<') are not supported — write the keys out")
        # Every non-string scalar is immutable (int, float, bool, None, a timestamp, bytes): one object per
        # spelling is shared. Failures are not kept; each is raised where it occurs.
        constructed = (tag, event.value, event.style)
        if constructed in self._scalars.constructed:
            return self._scalars.constructed[constructed]
        node = yaml.ScalarNode(tag, event.value, None, None, event.style)
        try:
            value = self._scalars.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError):
            raise self._fail(
                where, f"{event.value[:40]!r} cannot be read as a {tag.rsplit(':', 1)[-1]} — quote it"
            ) from None
        self._scalars.constructed[constructed] = value
        return value

    def _key(self, frame: _Frame, key: Any, where: tuple[int, int]) -> None:
        if not isinstance(key, str | int | float | bool) or key is None:
            key = str(key)
        assert isinstance(frame.value, dict)
        child = (*frame.path, key)
        frame.has_key = True
        if key in frame.value:
            first = self.source.keys.get(child, where)
            self.problems.append(
                Problem(
                    self.source.file,
                    where[0],
                    where[1],
                    format_path(child),
                    f"duplicate key {key!r} (first defined on line {first[0]}) — names must be "
                    "unique; rename one or merge them",
                )
            )
            frame.key, frame.duplicate = key, True
            return
        frame.key, frame.duplicate = key, False
        if frame.record:
            self._locate(child, "key", where)

    def _place(self, frame: _Frame | None, value: Any) -> None:
        if frame is None:
            self.result = value
        elif isinstance(frame.value, dict):
            if not frame.duplicate:
                frame.value[frame.key] = value
            frame.has_key = frame.duplicate = False
            frame.key = None
        else:
            frame.value.append(value)

    def _open(self, event: yaml.MappingStartEvent | yaml.SequenceStartEvent) -> None:
        where = self._pos(event.start_mark)
        self._count(1, where)
        parent, path, record = self._slot(where)
        if parent is not None and path is None:
            raise self._fail(where, "a mapping key must be a plain value, not a mapping or a list")
        assert path is not None
        depth = (parent.depth + 1) if parent is not None else 1 + self._depth
        self._depth_ok(depth, where)
        if record:
            self._locate(path, "collection", where)
        if event.anchor is not None:
            self._open_anchors.append(event.anchor)
        value: dict[Any, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
        self._stack.append(
            _Frame(path, value, where, event.anchor, self.count - 1, len(self._log), depth, record)
        )

    def _close(self) -> None:
        frame = self._stack.pop()
        parent = self._stack[-1] if self._stack else None
        if parent is not None:
            parent.height = max(parent.height, frame.height + 1)
        if frame.anchor is not None:
            self._open_anchors.pop()
            cut = len(frame.path)
            located = [(p[cut:], kind, where) for p, kind, where in self._log[frame.first_logged :]]
            self._anchors[frame.anchor] = _Anchor(
                frame.value, frame.path, self.count - frame.first_value, frame.height, located
            )
            if not self._open_anchors:
                self._log.clear()
        self._place(parent, frame.value)

    def _alias(self, event: yaml.AliasEvent) -> None:
        where = self._pos(event.start_mark)
        name = event.anchor or ""
        if name in self._open_anchors:
            raise self._fail(
                where, f"alias *{name[:40]} repeats a value that contains it — a cycle; remove it"
            )
        anchor = self._anchors.get(name)
        if anchor is None:
            raise self._fail(
                where, f"alias *{name[:40]} names no anchor (&{name[:40]}) before it — define it first"
            )
        self._count(anchor.values, where)
        frame, path, record = self._slot(where)
        if frame is not None and path is None:
            if isinstance(anchor.value, dict | list):
                raise self._fail(where, "a mapping key must be a plain value, not a mapping or a list")
            self._key(frame, anchor.value, where)
            return
        assert path is not None
        depth = frame.depth if frame is not None else self._depth
        self._depth_ok(depth + anchor.height + (1 if isinstance(anchor.value, dict | list) else 0), where)
        if frame is not None:
            frame.height = max(
                frame.height, anchor.height + (1 if isinstance(anchor.value, dict | list) else 0)
            )
        if record:
            self._locate(path, "collection" if isinstance(anchor.value, dict | list) else "scalar", where)
            for relative, kind, at in anchor.located:
                self._locate((*path, *relative), kind, at)
        self._place(frame, anchor.value)


def load_yaml(path: FsPath, display: str | None = None, *, keep_text: bool = False) -> tuple[Any, SourceMap]:
    """Parse a YAML file into plain data plus positions. Raises CatalogError with file:line on any problem.

    `keep_text` also keeps the source text of plain scalars (Pulumi reads a stack file's top-level values
    as that text: `1.50` stays "1.50").
    """
    name = display or str(path)
    return parse_text(read_text(path, name), name, keep_text)


def parse_text(text: str, name: str, keep_text: bool = False) -> tuple[Any, SourceMap]:
    source = SourceMap(name)
    builder = EventBuilder(source, keep_text)
    try:
        for event in yaml.parse(text, Loader=YamlLoader):
            builder.feed(event)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = f"{exc.context + ', ' if exc.context else ''}{exc.problem or 'invalid YAML'}"
        raise CatalogError(
            [Problem(name, line, col, "", f"YAML syntax error: {what} — fix the syntax")]
        ) from None
    except yaml.YAMLError as exc:
        raise CatalogError(
            [Problem(name, 1, 1, "", f"YAML error: {str(exc)[:200]} — fix the file")]
        ) from None
    if builder.problems:
        raise CatalogError(builder.problems)
    return builder.result, source
