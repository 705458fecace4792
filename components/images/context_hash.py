"""The content hash of a build context (the dev stand-in digest, the build's identity) and its cache key."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from components.catalog.build import BuildSpec
from components.images.problems import MAX_FILE_BYTES

if TYPE_CHECKING:
    from hashlib import _Hash

# `wheelhouse` is downloaded from the lock file (which is hashed), so it must not make renders differ
# between a machine that fetched it and one that did not.
SKIPPED_DIRS = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", "wheelhouse"}


def _files(directory: Path) -> list[Path]:
    """Regular files and links of the context, not following links (the build context sends a link as a
    link, so a link out of the project is hashed as the link, never read through)."""
    found = []
    for here, dirs, files in os.walk(directory):
        base = Path(here)
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for name in [*files, *(d for d in dirs if (base / d).is_symlink())]:
            path = base / name
            if path.is_symlink() or stat.S_ISREG(path.lstat().st_mode):
                found.append(path)
        dirs[:] = [d for d in dirs if not (base / d).is_symlink()]
    return sorted(found)


def update_with_tree(digest: _Hash, directory: Path) -> None:
    """Feed every file under `directory` (relative POSIX path, then bytes, or a link's target) into
    `digest`.

    Only content counts, never where the directory lives: two clones of one commit, or the base of
    `modelstack preview --base` rendered in a temporary worktree, give the same digest.
    """
    for path in _files(directory):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        if path.is_symlink():
            digest.update(b"symlink\0" + os.readlink(path).encode())
        else:
            digest.update(path.read_bytes())


def context_hash(build: BuildSpec, catalog_dir: Path) -> str:
    """sha256 over every file of the context (path + content, or a link's target), the base and the build
    arguments."""
    context = (catalog_dir / build.context).resolve()
    digest = hashlib.sha256()
    digest.update(f"{build.base}\0{sorted(build.args.items())}\0{build.dockerfile}\0".encode())
    update_with_tree(digest, context)
    return digest.hexdigest()


def cache_key(build: BuildSpec, catalog_dir: Path) -> str:
    """Keys the registry cache: a changed lock file or base digest starts a new cache, never reusing layers."""
    context = (catalog_dir / build.context).resolve()
    digest = hashlib.sha256(build.base.encode())
    for lock in build.lock_files:
        path = context / lock
        # Only after context_problems accepted it: inside the project, a regular file.
        readable = path.is_file() and path.stat().st_size <= MAX_FILE_BYTES
        digest.update(lock.encode() + b"\0" + (path.read_bytes() if readable else b""))
    return digest.hexdigest()[:16]
