"""YAML loading that remembers where every value came from, and refuses duplicate keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from components.catalog.errors import CatalogError, Path, Problem, format_path

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class SourceMap:
    """Line/column (1-based) of every value and mapping key in one YAML file."""

    file: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    scalars: set[Path] = field(default_factory=set)

    def locate(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Position of `path`, or of its nearest ancestor that exists in the file.

        A scalar is located at its value; a mapping or list at its key (where a reader looks for it).
        """
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if not key and prefix in self.scalars:
                return self.values[prefix]
            if prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return (1, 1)

    def problem(self, path: Path, message: str, *, key: bool = False, shown: Path | None = None) -> Problem:
        line, col = self.locate(path, key=key)
        return Problem(self.file, line, col, format_path(shown if shown is not None else path), message)


def _pos(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self._scalars = _Loader("")

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.source.values[path] = _pos(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        self.source.scalars.add(path)
        return self._scalars.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self._scalars.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                key = str(key)
            child = (*path, key)
            if key in out:
                line, col = _pos(key_node)
                first = self.source.keys[child]
                self.problems.append(
                    Problem(
                        self.source.file,
                        line,
                        col,
                        format_path(child),
                        f"duplicate key {key!r} (first defined on line {first[0]}) — names must be "
                        "unique; rename one or merge them",
                    )
                )
                continue
            self.source.keys[child] = _pos(key_node)
            out[key] = self.build(value_node, child)
        return out


def load_yaml(path: FsPath, display: str | None = None) -> tuple[Any, SourceMap]:
    """Parse a YAML file into plain data plus positions. Raises CatalogError with file:line on any problem."""
    name = display or str(path)
    source = SourceMap(name)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(
            [Problem(name, 1, 1, "", f"cannot read the file: {exc.strerror} — check the path")]
        ) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = f"{exc.context + ', ' if exc.context else ''}{exc.problem or 'invalid YAML'}"
        raise CatalogError(
            [Problem(name, line, col, "", f"YAML syntax error: {what} — fix the syntax")]
        ) from None
    if node is None:
        return None, source
    builder = _Builder(source)
    data = builder.build(node, ())
    if builder.problems:
        raise CatalogError(builder.problems)
    return data, source
