"""Reading the catalog entry by entry: each model entry of `models.yaml` parsed alone, where it sits in
the file, and kept between runs by its text (the offline engine's render cache), so a warm run parses only
the entries that changed. The result is always exactly `source.load_yaml`'s (docs/input-safety.md)."""

from __future__ import annotations

import hashlib
import marshal
import re
from pathlib import Path as FsPath
from typing import Any, Protocol

import yaml

from components.catalog.errors import CatalogError, Path
from components.catalog.source import (
    MAX_VALUES,
    EventBuilder,
    ScalarReader,
    SourceMap,
    YamlLoader,
    load_yaml,
    locate_in,
    parse_text,
    read_text,
)


class ParseMemo(Protocol):
    """Where `load_catalog_yaml` keeps each model entry's parse between runs (the render cache's)."""

    def load(self) -> dict[str, Any]: ...

    def store(self, entries: dict[str, Any]) -> None: ...


_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
"""Line breaks besides \\n that YAML (\\r, \\x85, \\u2028, \\u2029) or str.splitlines knows."""
_MODELS_LINE = re.compile(r"models: *(#[^\n]*)?")
_NOT_A_PLAIN_KEY = "-?:,[]{}&*!|>'\"%@`\t"
"""First characters of an entry line this leaves to the whole-file parse (sequences, complex keys, flow
collections, anchors, aliases, tags, block scalars, quoted keys, reserved indicators)."""


def _entry_lines(lines: list[str]) -> tuple[int, list[tuple[int, int]]] | None:
    """The catalog's lines split where its model entries start: the number of head lines (up to the
    first entry) and each entry's (first line, end line); None for any layout this cannot be sure of.

    Sure means: a `models:` line with nothing after it at column 0, after it only blank lines, comments
    and lines indented as deep as the first entry or deeper, every entry starting at exactly that
    indentation with a plain key. A line there is then always a new key of the `models` mapping
    (block scalars, flow collections and quoted scalars inside an entry are indented deeper, or they
    leave an entry that fails to parse alone, which falls back to the whole-file parse)."""
    models = next((i for i, line in enumerate(lines) if _MODELS_LINE.fullmatch(line)), None)
    if models is None:
        return None
    indent = 0
    starts: list[int] = []
    for i in range(models + 1, len(lines)):
        line = lines[i]
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        depth = len(line) - len(stripped)
        if not indent:
            if depth == 0:
                return None
            indent = depth
        if depth < indent:
            return None
        if depth == indent:
            if stripped[0] in _NOT_A_PLAIN_KEY:
                return None
            starts.append(i)
    if not starts:
        return None
    bounds = [(start, end) for start, end in zip(starts, [*starts[1:], len(lines)], strict=True)]
    return starts[0], bounds


def _parse_part(
    text: str, name: str, scalars: ScalarReader, *, base: Path, lines: int, depth: int
) -> tuple[Any, SourceMap, int] | None:
    """Data, positions and value count of one part of a file (None when it does not parse cleanly alone)."""
    source = SourceMap(name)
    builder = EventBuilder(source, False, base=base, lines=lines, depth=depth, scalars=scalars)
    try:
        for event in yaml.parse(text, Loader=YamlLoader):
            builder.feed(event)
    except (yaml.YAMLError, CatalogError):
        return None
    if builder.problems:
        return None
    return builder.result, source, builder.count


_REWRITE_AT = 20

_ROOT: Path = ("models",)


class EntrySourceMap(SourceMap):
    """A catalog's positions, each model entry's decoded only when asked for.

    A warm run locates the few problems it reports, if any, so decoding the positions of every entry
    (~95 values and ~73 keys each: ~0.1 s of a 1,000-model catalog's ~0.15 s memo read) bought nothing.
    Each entry's positions stay the marshal bytes the memo holds until `locate` asks for a path inside
    that model; reading `values`, `keys` or `scalars` (or comparing) decodes every entry first, so
    outside `locate` this is exactly the SourceMap the whole-file parse gives."""

    def __init__(self, head: SourceMap) -> None:
        self.file = head.file
        self.texts = head.texts
        self._values = head.values
        self._keys = head.keys
        self._scalars = head.scalars
        self._pending: dict[Any, tuple[bytes, int]] = {}

    def add(self, model: Any, positions: bytes, delta: int) -> None:
        """Model `model`'s entry: its positions as `_positions` encoded them, `delta` lines further down."""
        self._pending[model] = (positions, delta)

    def _decode(self, model: Any) -> None:
        positions, delta = self._pending.pop(model)
        values, keys, scalars = marshal.loads(positions)
        if delta:
            values = {path: (line + delta, column) for path, (line, column) in values.items()}
            keys = {path: (line + delta, column) for path, (line, column) in keys.items()}
        # An entry's root mapping is `models` itself: that position is the first entry's, set once.
        values.pop(_ROOT, None)
        scalars.discard(_ROOT)
        self._values.update(values)
        self._keys.update(keys)
        self._scalars.update(scalars)

    def _decode_all(self) -> None:
        for model in list(self._pending):
            self._decode(model)

    @property
    def values(self) -> dict[Path, tuple[int, int]]:  # type: ignore[override]
        self._decode_all()
        return self._values

    @property
    def keys(self) -> dict[Path, tuple[int, int]]:  # type: ignore[override]
        self._decode_all()
        return self._keys

    @property
    def scalars(self) -> set[Path]:  # type: ignore[override]
        self._decode_all()
        return self._scalars

    def locate(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        # Every position below `models.<name>` is that entry's; every other one is the head's.
        if len(path) >= 2 and path[0] == "models" and path[1] in self._pending:
            self._decode(path[1])
        return locate_in(self._values, self._keys, self._scalars, path, key=key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SourceMap):
            return NotImplemented
        return (self.file, self.values, self.keys, self.scalars, self.texts) == (
            other.file,
            other.values,
            other.keys,
            other.scalars,
            other.texts,
        )

    __hash__ = None  # type: ignore[assignment]


def _positions(source: SourceMap) -> bytes:
    return marshal.dumps((source.values, source.keys, source.scalars))


def load_catalog_yaml(path: FsPath, display: str | None, memo: ParseMemo | None) -> tuple[Any, SourceMap]:
    """`load_yaml` of a catalog, parsing only the model entries whose text `memo` does not hold.

    Each model entry is parsed on its own, where it sits in the file (its lines, its path under `models`,
    its nesting), and kept in `memo` by its text (an entry that moved is shifted to its new lines). The result is exactly `load_yaml`'s:
    anything this cannot be sure of (another layout, an entry that does not parse alone, an alias to an
    anchor outside its entry, a duplicate key, a model named twice, a document over the bounds) is
    parsed as one file, which also reports every problem."""
    name = display or str(path)
    if memo is None:
        return load_yaml(path, name)
    text = read_text(path, name)
    lines = text.split("\n")
    split = None if _OTHER_BREAKS.search(text) else _entry_lines(lines)
    if split is None:
        return parse_text(text, name)
    head_lines, bounds = split
    shared = ScalarReader()
    head = _parse_part("\n".join(lines[:head_lines]) + "\n", name, shared, base=(), lines=0, depth=0)
    if head is None or not isinstance(head[0], dict) or head[0].get("models", 0) is not None:
        return parse_text(text, name)
    data, head_source, count = head
    source = EntrySourceMap(head_source)
    known = memo.load()
    kept: dict[str, Any] = {}
    models: dict[Any, Any] = {}
    first: tuple[int, int] | None = None
    for start, end in bounds:
        # The file's own text: the last entry ends as the file does, with or without a line break (one
        # added there would end a literal block scalar `|` with a newline the whole-file parse has not).
        part = "\n".join(lines[start:end]) + ("\n" if end < len(lines) else "")
        key = hashlib.sha256(part.encode()).hexdigest()
        entry = known.get(key)
        if entry is None:
            parsed = _parse_part(part, name, shared, base=("models",), lines=start, depth=1)
            if parsed is None or not isinstance(parsed[0], dict) or len(parsed[0]) != 1:
                return parse_text(text, name)
            value, part_source, part_count = parsed
            # The positions of the lines it was parsed at; an entry that moves is shifted when decoded.
            entry = [value, _positions(part_source), part_count, start, part_source.values[_ROOT]]
        value, positions, part_count, parsed_at, (root_line, root_column) = entry
        (model,) = value
        if model in models:
            return parse_text(text, name)
        models[model] = value[model]
        kept[key] = entry
        if first is None:
            first = (root_line + start - parsed_at, root_column)
        source.add(model, positions, start - parsed_at)
        # The head counted `models` once (as a null), each entry its own root mapping.
        count += part_count - 1
    if count > MAX_VALUES:
        return parse_text(text, name)
    assert first is not None
    data["models"] = models
    head_source.values[_ROOT] = first
    head_source.scalars.discard(_ROOT)
    # Rewriting the memo (megabytes at 1,000 models) costs more than parsing a few entries again: it is
    # rewritten when it has none, or when one entry in twenty is new (a moved one is shifted as it is).
    misses = sum(1 for k in kept if kept[k] is not known.get(k))
    if misses and (not known or misses * _REWRITE_AT >= len(bounds)):
        memo.store(kept)
    return data, source
