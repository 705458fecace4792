"""The render cache: each model's rendered objects, content-addressed by everything that can change them.

A model's objects depend on its catalog entry as written, the stack configuration (every `modelstack:`
value Pulumi would pass, secrets included), the stack and project names, whether the stack has an image
builder, and the program's code. The key of a model is a SHA-256 over all of these, the code being
`code_version()`: every file of `components/` and `modelstack/` by content, the Python version and the
installed versions of the Pulumi SDK, pulumi-kubernetes, pulumi-docker-build, pydantic and PyYAML. So any
change to any of them (another helper's edit of `components/` included) is a new key: entries are never
invalidated, only no longer asked for. Models whose versions build their image are never cached (their
objects depend on the build context's files).

Where: `$MODELSTACK_CACHE_DIR`, else `$XDG_CACHE_HOME/modelstack/render`, else
`~/.cache/modelstack/render`, created with mode 0700. Bounded: after a run that wrote entries, the least
recently used ones are deleted until the cache is under 80 % of `$MODELSTACK_CACHE_MAX_MB` (default 1024),
the cache being walked only when its ledger says it may be over (`RenderCache.trim`).

Safe under concurrent runs: an entry is written to a temporary file in its directory and renamed into
place, so a reader sees a whole entry or none; each entry carries a BLAKE2 digest of its payload, checked
on every read, so a damaged entry is a miss, never wrong data. Payloads are `marshal` data (plain dicts,
lists and strings: loading one cannot run code, unlike pickle); the Python version is part of every key.
A cache that cannot be written (read-only, full disk) only makes runs slower.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CACHE_FORMAT = 1
_MAGIC = b"modelstack-render-cache\x01"
_CHECK = 32
DEFAULT_MAX_MB = 1024
_TRIM_TO = 0.8
_LEDGER = "usage"
_LEDGER_LINES = 1000
"""A ledger longer than this is replaced by a walk (it would otherwise grow by a line per run)."""
_CODE_PACKAGES = ("components", "modelstack")
_DISTRIBUTIONS = ("pulumi", "pulumi_kubernetes", "pulumi_docker_build", "pydantic", "pydantic_core", "PyYAML")
_PROJECT = Path(__file__).resolve().parent.parent.parent


def cache_home(variable: str, leaf: str) -> Path:
    """`$variable`, else `$XDG_CACHE_HOME/modelstack/<leaf>`, else `~/.cache/modelstack/<leaf>`: where
    modelstack keeps what it builds or installs outside the repository."""
    explicit = os.environ.get(variable)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modelstack" / leaf


def default_directory() -> Path:
    return cache_home("MODELSTACK_CACHE_DIR", "render")


def digest(*parts: str | bytes) -> str:
    """SHA-256 of `parts`, each length-prefixed (so no two different lists of parts collide)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def _tree_files(root: Path) -> Iterable[tuple[str, Path]]:
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                path = Path(here) / name
                yield path.relative_to(root.parent).as_posix(), path


def _normalized(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _installed_versions() -> dict[str, str]:
    """Distribution → version from the `*.dist-info` directory names on sys.path (first one wins, as for
    imports): a listing per path entry instead of importlib.metadata's parsing of every METADATA file."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info") and "-" in name:
                distribution, _, version = name[: -len(".dist-info")].partition("-")
                found.setdefault(_normalized(distribution), version)
    return found


@functools.cache
def code_version() -> str:
    """Every source and data file of the program and its tool by content, plus the interpreter and the
    libraries that shape what the mock runtime records."""
    parts: list[str | bytes] = [f"format {CACHE_FORMAT}", sys.version, sys.implementation.cache_tag or ""]
    for package in _CODE_PACKAGES:
        for relative, path in _tree_files(_PROJECT / package):
            parts += [relative, path.read_bytes()]
    installed = _installed_versions()
    parts += [f"{name}=={installed.get(_normalized(name), 'absent')}" for name in _DISTRIBUTIONS]
    return digest(*parts)


class RenderCache:
    """Entries by kind and key (hex digests), in `directory`."""

    def __init__(self, directory: Path | None = None, max_bytes: int | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_directory()
        if max_bytes is None:
            max_bytes = int(float(os.environ.get("MODELSTACK_CACHE_MAX_MB", DEFAULT_MAX_MB)) * 1024 * 1024)
        self.max_bytes = max_bytes
        self.written = 0
        self.hits = 0
        self.misses = 0

    def _path(self, kind: str, key: str) -> Path:
        return self.directory / kind / key[:2] / key

    def get(self, kind: str, key: str) -> Any:
        """The entry, or None when absent or damaged."""
        path = self._path(kind, key)
        try:
            data = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        head = len(_MAGIC)
        payload = data[head + _CHECK :]
        if (
            data[:head] != _MAGIC
            or hashlib.blake2b(payload, digest_size=_CHECK).digest() != data[head : head + _CHECK]
        ):
            self.misses += 1
            return None
        try:
            value = marshal.loads(payload)
        except (EOFError, ValueError, TypeError):
            self.misses += 1
            return None
        # The modification time is the entry's last use: trimming deletes the least recently used.
        with contextlib.suppress(OSError):
            os.utime(path)
        self.hits += 1
        return value

    def put(self, kind: str, key: str, value: Any) -> None:
        payload = marshal.dumps(value)
        data = _MAGIC + hashlib.blake2b(payload, digest_size=_CHECK).digest() + payload
        path = self._path(kind, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".writing-")
            try:
                with os.fdopen(fd, "wb") as stream:
                    stream.write(data)
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError:
            return
        self.written += len(data)

    def trim(self) -> None:
        """Delete the least recently used entries until the cache is under 80 % of its bound.

        Walking the whole cache to learn its size cost a warm one-model preview ~0.3 s at 1,000 models,
        for a run that stored one model. So the cache keeps a ledger (`usage`): its size at the last walk,
        then a line per run with the bytes that run wrote. Only when that sum passes the bound (or the
        ledger is missing, damaged or long) is the cache walked and trimmed. Rewritten or deleted entries
        make the sum larger than the truth, never smaller, so a walk comes early, not late; two runs
        appending at once each append their own line (O_APPEND)."""
        if not self.written:
            return
        written, self.written = self.written, 0
        known = self._ledger_total()
        if known is not None and known + written <= self.max_bytes:
            with contextlib.suppress(OSError):
                fd = os.open(self.directory / _LEDGER, os.O_WRONLY | os.O_APPEND)
                try:
                    os.write(fd, f"{written}\n".encode())
                finally:
                    os.close(fd)
            return
        entries: list[tuple[int, int, str]] = []
        ledger = os.path.join(self.directory, _LEDGER)
        for here, _, files in os.walk(self.directory):
            for name in files:
                path = os.path.join(here, name)
                if path == ledger:
                    continue
                with contextlib.suppress(OSError):
                    info = os.stat(path)
                    entries.append((info.st_mtime_ns, info.st_size, path))
        total = sum(size for _, size, _ in entries)
        if total > self.max_bytes:
            for _, size, path in sorted(entries):
                if total <= self.max_bytes * _TRIM_TO:
                    break
                with contextlib.suppress(OSError):
                    os.unlink(path)
                    total -= size
        self._write_ledger(total)

    def _ledger_total(self) -> int | None:
        try:
            lines = (self.directory / _LEDGER).read_text(encoding="ascii").split()
        except (OSError, UnicodeDecodeError):
            return None
        if not lines or len(lines) > _LEDGER_LINES or not all(line.isdigit() for line in lines):
            return None
        return sum(int(line) for line in lines)

    def _write_ledger(self, total: int) -> None:
        with contextlib.suppress(OSError):
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".writing-")
            with os.fdopen(fd, "w", encoding="ascii") as stream:
                stream.write(f"{total}\n")
            os.replace(temporary, self.directory / _LEDGER)
