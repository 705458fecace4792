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

`--by-reference` (what `preview --base` asks of the base revision) writes each cached model's objects as
the render cache's key for them instead of their texts: the preview runs beside the same cache, and a
warm base is then ~1 MB of digests instead of 32 MB of YAML written by one process and read back by the
other (`REFERENCE_FORMAT`). The format is a contract: each object's SHA-256 of its UTF-8 text, and each
model's texts in the cache's `model-texts` entry under the key named, as `render_store` writes them. A
revision that changes either must name another format, which an older preview then refuses (it renders
that base into a directory instead). An entry gone from the cache meanwhile is `CacheVanishedError`: the
preview runs again without the cache.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modelstack.engine.render_cache import RenderCache
from modelstack.engine.render_files import unique_keys
from modelstack.engine.render_store import MODEL_TEXTS, CachedRender, CacheVanishedError, text_digest

FORMAT = "modelstack-render-bundle/1"
REFERENCE_FORMAT = "modelstack-render-bundle-by-reference/1"
_HEADS = tuple('{"format":"' + name + '"' for name in (FORMAT, REFERENCE_FORMAT))
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class BundleError(Exception):
    """Not a render bundle this code reads (another format, damaged, or not a bundle at all)."""


def _is_bundle(path: Path) -> bool:
    try:
        with open(path, "rb") as stream:
            head = stream.read(max(len(h) for h in _HEADS))
    except OSError:
        return False
    return any(head.startswith(h.encode()) for h in _HEADS)


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
    _write(path, {"format": FORMAT, "lock": lock, "objects": objects, "outputs": outputs})
    return len(objects)


def write_reference_bundle(rendered: CachedRender, path: Path) -> int:
    """`write_bundle` naming each cached model's objects by its render-cache entry; the objects of the rest
    (the stack-wide ones, a model that builds its image: never cached) are copied."""
    named = rendered.model_keys  # a model that builds its image has none
    copied = {key: text for key, (text, _) in rendered.stack_objects.items()}
    for owner in {owner for _, owner in rendered.index.values() if owner and owner not in named}:
        copied.update(rendered.model_texts(owner))
    document = {
        "format": REFERENCE_FORMAT,
        "index": sorted([key, sha, owner] for key, (sha, owner) in rendered.index.items()),
        "lock": rendered.lock,
        "models": dict(sorted(named.items())),
        "objects": dict(sorted(copied.items())),
        "outputs": rendered.outputs,
        "renderCache": str(rendered.cache.directory.resolve()),
    }
    _write(path, document)
    return len(rendered.index)


def _write(path: Path, document: dict[str, Any]) -> None:
    check_target(path)
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


def bundle_stack(
    root: Path, stack: str, path: Path, cache: RenderCache | None, *, by_reference: bool = False
) -> int:
    """`render --bundle`: render `stack` (through `cache` when given) into the bundle at `path`; the number
    of objects. `by_reference`: name the cached models' objects instead of copying them, where every
    model has an entry. Raises CatalogError like `render`, BundleError for a `path` it must not replace."""
    check_target(path)  # refused before the program runs: nothing is written
    if cache is not None:
        from modelstack.engine.incremental import UnattributableRenderError, cached_render

        try:
            rendered = cached_render(root, stack, cache)
            if by_reference:
                return write_reference_bundle(rendered, path)
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


@dataclass
class ReferenceBundle:
    """A render read back from a bundle by reference: its digests, and each named model's texts from the
    render cache when an object of that model is asked for."""

    digests: dict[str, tuple[str, str]]
    """Object key → (SHA-256 of its YAML text, its model or "" for a stack-wide object)."""
    model_keys: dict[str, str]
    """Model → the render-cache key of its objects."""
    texts: dict[str, str]
    """The objects copied into the bundle: the stack-wide ones, and those of models not in `model_keys`."""
    outputs: dict[str, Any]
    lock: dict[str, Any]
    cache: RenderCache
    _cached: dict[str, dict[str, Any]] = field(default_factory=dict)

    def index(self) -> dict[str, str]:
        return {key: sha for key, (sha, _) in self.digests.items()}

    def _text(self, key: str) -> str:
        owner = self.digests[key][1]
        if owner not in self.model_keys:
            return self.texts[key]
        if owner not in self._cached:
            texts = self.cache.get(MODEL_TEXTS, self.model_keys[owner])
            if not isinstance(texts, dict):
                raise CacheVanishedError(owner)
            self._cached[owner] = texts
        text = self._cached[owner].get(key)
        if not isinstance(text, str):
            raise CacheVanishedError(owner)
        return text

    def body(self, key: str) -> dict[str, Any] | None:
        """The object as `Bundle.body` gives it, its text read from the cache."""
        body = yaml.load(self._text(key), Loader=_Loader)
        return body if isinstance(body, dict) and "kind" in body else None


def read_bundle(path: Path, cache: RenderCache | None = None) -> Bundle | ReferenceBundle:
    """BundleError when `path` is not a bundle of a format this code reads, or names a render cache other
    than `cache`."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"cannot read render bundle {path}: {exc}") from None
    if isinstance(document, dict) and document.get("format") == REFERENCE_FORMAT:
        return _by_reference(path, document, cache)
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


def _by_reference(path: Path, document: dict[str, Any], cache: RenderCache | None) -> ReferenceBundle:
    if cache is None or document.get("renderCache") != str(cache.directory.resolve()):
        raise BundleError(f"{path} names its objects in another render cache")
    index: Any = document.get("index")
    models, texts = document.get("models"), document.get("objects")
    outputs, lock = document.get("outputs"), document.get("lock")
    try:
        digests = {key: (sha, owner) for key, sha, owner in index}
    except (TypeError, ValueError):
        raise BundleError(f"{path} is not a complete render bundle") from None
    if (
        not all(isinstance(v, str) for key, pair in digests.items() for v in (key, *pair))
        or not isinstance(models, dict)
        or not all(isinstance(k, str) for k in models.values())
        or not isinstance(texts, dict)
        or not all(isinstance(t, str) for t in texts.values())
        or not {key for key, (_, owner) in digests.items() if owner not in models} <= texts.keys()
        or not isinstance(outputs, dict)
        or not isinstance(lock, dict)
    ):
        raise BundleError(f"{path} is not a complete render bundle")
    return ReferenceBundle(digests, models, texts, outputs, lock, cache)
