"""Writing a render: each object's YAML text, `outputs.json` and the versions lock, into `--out`.

Kept apart from `render` (which runs the program under the mock runtime) so a render the cache holds
whole is written without importing the Pulumi SDK.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from modelstack.engine import manifest_yaml
from modelstack.engine.lock import LOCK_FILE
from modelstack.engine.render_dir import replace_dir


def dump_yaml(value: Any) -> str:
    """PyYAML's block style with sorted keys, written by `manifest_yaml` (same bytes, a fraction of the time)."""
    return manifest_yaml.dump(value)


def _checked_key(key: str) -> str:
    """An object's file path must stay inside the render (names are validated, this is the backstop)."""
    parts = key.split("/")
    if key.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"object path {key!r} would leave the render directory")
    return key


def unique_keys(keys: Iterable[str]) -> None:
    """ValueError when two objects have the same key (they would be one file, one cluster object)."""
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"two resources render to the same object {key}")
        seen.add(key)


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


def _write_file(path: str, data: bytes) -> None:
    """`open(path, "w").write(text)` in the three system calls it needs: the text layer's own (a stat, a
    terminal check, two seeks per file) and its construction were a third of writing a render."""
    fd = os.open(path, _CREATE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def write_texts(texts: Iterable[tuple[str, str]], outputs: Any, lock: dict[str, Any], out: Path) -> int:
    """Write each (key, YAML text) plus outputs.json and the lock, atomically replacing `out`; the number
    of files written."""
    out = Path(os.path.abspath(out))
    items = sorted(texts)
    unique_keys(key for key, _ in items)

    def write(staging: Path) -> list[str]:
        files = []
        # Plain os.path and one makedirs per directory: with thousands of objects, pathlib's parsing and a
        # failing mkdir per file cost as much as the YAML itself.
        directories: set[str] = set()
        root = str(staging)
        for key, text in items:
            path = os.path.join(root, _checked_key(key))
            directory = os.path.dirname(path)
            if directory not in directories:
                os.makedirs(directory, exist_ok=True)
                directories.add(directory)
            _write_file(path, text.encode("utf-8"))
            files.append(key)
        _write_file(os.path.join(root, "outputs.json"), outputs_json(outputs).encode("utf-8"))
        _write_file(os.path.join(root, LOCK_FILE), lock_json(lock).encode("utf-8"))
        return [*files, "outputs.json", LOCK_FILE]

    replace_dir(out, write)
    return len(items) + 2


def outputs_json(outputs: Any) -> str:
    return json_text(outputs)


def lock_json(lock: dict[str, Any]) -> str:
    return json_text(lock)


class _NeedsJsonModuleError(Exception):
    """A value `_JsonText` does not spell itself (a non-string key, a type json.dumps converts)."""


def json_text(value: Any) -> str:
    """`json.dumps(value, sort_keys=True, indent=2) + "\n"`, byte for byte, several times faster.

    The json module writes indented JSON in pure Python, one generator per level that every chunk passes
    up through (a 5 MB outputs.json: 0.17 s); this appends each chunk once. Values it does not spell
    itself go to json.dumps (`tests/foundation/test_json_text.py` compares both on generated values)."""
    parts: list[str] = []
    try:
        _json_parts(value, "\n", parts)
    except (_NeedsJsonModuleError, RecursionError):
        return json.dumps(value, sort_keys=True, indent=2) + "\n"
    parts.append("\n")
    return "".join(parts)


_encode_string = json.encoder.encode_basestring_ascii  # the C function json.dumps uses (ensure_ascii)


def _json_parts(value: Any, newline: str, parts: list[str]) -> None:
    """`value` as json's `_iterencode` spells it with indent=2 and sorted keys; `newline`: a line break
    and this level's indentation."""
    cls = value.__class__
    if cls is str:
        parts.append(_encode_string(value))
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif cls is int:
        parts.append(int.__repr__(value))
    elif cls is float:
        if not math.isfinite(value):
            raise _NeedsJsonModuleError  # NaN and Infinity: json's own spelling
        parts.append(float.__repr__(value))
    elif cls is dict:
        if not value:
            parts.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key in sorted(value):  # TypeError on keys of mixed types: as json.dumps raises
            if key.__class__ is not str:
                raise _NeedsJsonModuleError
            parts.append(separator + _encode_string(key) + ": ")
            separator = "," + inner
            _json_parts(value[key], inner, parts)
        parts.append(newline + "}")
    elif cls is list or cls is tuple:
        if not value:
            parts.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            parts.append(separator)
            separator = "," + inner
            _json_parts(item, inner, parts)
        parts.append(newline + "]")
    else:
        raise _NeedsJsonModuleError
