"""A render as one file: every object's YAML text, the stack outputs and the versions lock, in one JSON document.

`modelstack preview --base REF` renders the base revision with that revision's own code, in a temporary
worktree, then compares it with the head. Written as a directory, the base cost more than the whole rest of
a warm preview: at 1,000 models, creating 21,726 files took 1–5 s of system time on ext4, and indexing them
back (each one new, so read and hashed) another 0.4 s. `modelstack render --bundle FILE` writes the same
texts into one file instead, and the preview reads them with one `json.loads`, hashing each text itself (a
base revision's code is not trusted to have digested them the same way) and parsing only the objects whose
text differs from the head's.

The texts are exactly those `render --out` writes, so a base read from a bundle gives the same plan as the
same base read from a directory (`tests/preview/test_render_bundle.py`).
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from modelstack.engine.render_cache import RenderCache
from modelstack.engine.render_files import unique_keys
from modelstack.engine.render_store import text_digest

FORMAT = "modelstack-render-bundle/1"
_HEAD = '{"format":"' + FORMAT + '"'
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class BundleError(Exception):
    """Not a render bundle this code reads (another format, damaged, or not a bundle at all)."""


def _is_bundle(path: Path) -> bool:
    try:
        with open(path, "rb") as stream:
            return stream.read(len(_HEAD)) == _HEAD.encode()
    except OSError:
        return False


def check_target(path: Path) -> None:
    """BundleError unless `path` may be written: absent, or a bundle written before (never another file)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode) or not _is_bundle(path):
        raise BundleError(
            f"{path} exists and is not a render bundle — nothing was written; remove it or choose another "
            "--bundle path"
        )


def write_bundle(texts: Iterable[tuple[str, str]], outputs: Any, lock: dict[str, Any], path: Path) -> int:
    """Write the render to `path` (atomically: a reader sees the previous file or the new one, whole);
    the number of objects. Keys sorted, as `outputs.json` and the lock are, so equal renders are equal
    bytes."""
    objects = dict(sorted(texts))
    unique_keys(objects)
    check_target(path)
    document = {"format": FORMAT, "lock": lock, "objects": objects, "outputs": outputs}
    # Compact separators keep json's C encoder (an indented dump is the pure-Python one).
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    staging = str(directory / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    # Created as any file the user writes (the umask's mode), not mkstemp's 0600.
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return len(objects)


def bundle_stack(root: Path, stack: str, path: Path, cache: RenderCache | None) -> int:
    """`render --bundle`: render `stack` (through `cache` when given) into the bundle at `path`; the number
    of objects. Raises CatalogError like `render`, BundleError for a `path` it must not replace."""
    check_target(path)  # refused before the program runs: nothing is written
    if cache is not None:
        from modelstack.engine.incremental import UnattributableRenderError, cached_render
        from modelstack.engine.render_store import CacheVanishedError

        try:
            rendered = cached_render(root, stack, cache)
            return write_bundle(rendered.texts(), rendered.outputs, rendered.lock, path)
        except (CacheVanishedError, UnattributableRenderError):
            pass
    from modelstack.engine.render import run_program
    from modelstack.engine.render_files import dump_yaml

    render = run_program(root, stack)
    return write_bundle(
        ((m.key, dump_yaml(m.body)) for m in render.manifests), render.outputs, render.lock, path
    )


@dataclass(frozen=True)
class Bundle:
    """A render read back from a bundle: what a preview compares its head with."""

    texts: dict[str, str]
    outputs: dict[str, Any]
    lock: dict[str, Any]

    def index(self) -> dict[str, str]:
        """Object key → SHA-256 of its YAML text, as `render_index.directory_index` gives for a directory."""
        return {key: text_digest(text) for key, text in self.texts.items()}

    def body(self, key: str) -> dict[str, Any] | None:
        """The object as `diff.read_render` reads its file (None: not an object)."""
        body = yaml.load(self.texts[key], Loader=_Loader)
        return body if isinstance(body, dict) and "kind" in body else None


def read_bundle(path: Path) -> Bundle:
    """BundleError when `path` is not a bundle of this format."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"cannot read render bundle {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BundleError(f"{path} is not a {FORMAT} document")
    texts, outputs, lock = document.get("objects"), document.get("outputs"), document.get("lock")
    if (
        not isinstance(texts, dict)
        or not all(isinstance(t, str) for t in texts.values())
        or not isinstance(outputs, dict)
        or not isinstance(lock, dict)
    ):
        raise BundleError(f"{path} is not a complete render bundle")
    return Bundle(texts, outputs, lock)
