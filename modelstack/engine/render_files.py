"""Writing a render: each object's YAML text, `outputs.json` and the versions lock, into `--out`.

Kept apart from `render` (which runs the program under the mock runtime) so a render the cache holds
whole is written without importing the Pulumi SDK.
"""

from __future__ import annotations

import json
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


def write_texts(
    texts: Iterable[tuple[str, str]], outputs: Any, lock: dict[str, Any], out: Path
) -> list[Path]:
    """Write each (key, YAML text) plus outputs.json and the lock, atomically replacing `out`."""
    out = Path(os.path.abspath(out))
    written: list[Path] = []
    items = sorted(texts)
    unique_keys(key for key, _ in items)

    def write(staging: Path) -> list[str]:
        files = []
        # Plain os.path and one makedirs per directory: with thousands of objects, pathlib's parsing and a
        # failing mkdir per file cost as much as the YAML itself.
        directories: set[str] = set()
        for key, text in items:
            path = os.path.join(staging, _checked_key(key))
            directory = os.path.dirname(path)
            if directory not in directories:
                os.makedirs(directory, exist_ok=True)
                directories.add(directory)
            with open(path, "w", encoding="utf-8") as stream:
                stream.write(text)
            files.append(key)
            written.append(out / key)
        (staging / "outputs.json").write_text(outputs_json(outputs))
        (staging / LOCK_FILE).write_text(lock_json(lock))
        return [*files, "outputs.json", LOCK_FILE]

    replace_dir(out, write)
    return written


def outputs_json(outputs: Any) -> str:
    return json.dumps(outputs, sort_keys=True, indent=2) + "\n"


def lock_json(lock: dict[str, Any]) -> str:
    return json.dumps(lock, sort_keys=True, indent=2) + "\n"
