"""The directory a render is written to: what may be replaced, and how, without ever losing data.

A render writes a complete new tree beside `--out`, then swaps it in with one `renameat2(RENAME_EXCHANGE)`
(Linux ≥ 3.15; elsewhere two renames under the same lock), so `--out` is at every moment either the
previous render or the new one, whole. The previous render is kept until the new one is in place, and
then only the files its marker lists are deleted. A directory is replaced only when it is empty or holds
a previous render and nothing else: its marker file (`.modelstack-render`) lists every file the render
wrote, and any other file in it (or no marker at all: `--out .` from the project root) refuses the run
before anything is written. Renders into the same parent directory are serialized by a lock on it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

MARKER = ".modelstack-render"
MARKER_FORMAT = 1
_MAX_MARKER_BYTES = 64 * 1024 * 1024
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class RenderDirError(Exception):
    """`--out` cannot be written without touching what the render did not write (exit 2, nothing changed)."""


def _listed(directory: Path) -> set[str]:
    """The files a previous render's marker says it wrote (relative POSIX paths)."""
    marker = directory / MARKER
    try:
        info = marker.lstat()
    except FileNotFoundError:
        raise RenderDirError(
            f"{directory} is not empty and was not written by `modelstack render` (it has no {MARKER}) — "
            "nothing was written; choose an empty or new directory for --out"
        ) from None
    if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_MARKER_BYTES:
        raise RenderDirError(f"{marker} is not a render marker — remove it or choose another --out")
    try:
        body = json.loads(marker.read_text(encoding="utf-8"))
        files = body["files"]
        if body.get("format") != MARKER_FORMAT or not all(isinstance(f, str) for f in files):
            raise ValueError
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise RenderDirError(f"{marker} is not a render marker — remove it or choose another --out") from None
    return set(files)


def _contents(directory: Path) -> tuple[set[str], set[str]]:
    """Every file (or link, or anything not a directory) and every directory below `directory`."""
    # Strings, not pathlib: a render's directory holds tens of thousands of files, and building a Path
    # for each cost more than writing the render again.
    files: set[str] = set()
    dirs: set[str] = set()
    top = os.fspath(directory)
    for here, subdirs, names in os.walk(top):
        relative = os.path.relpath(here, top).replace(os.sep, "/")
        prefix = "" if relative == "." else relative + "/"
        for name in subdirs:
            # A link to a directory is not descended into: it is an entry the render did not write.
            (files if os.path.islink(os.path.join(here, name)) else dirs).add(prefix + name)
        files.update(prefix + name for name in names)
    return files, dirs


def _parents(listed: set[str]) -> set[str]:
    """Every directory above a listed file (`a/b/c.yaml`: `a/b` and `a`)."""
    parents: set[str] = set()
    for file in listed:
        directory = file.rpartition("/")[0]
        while directory and directory not in parents:
            parents.add(directory)
            directory = directory.rpartition("/")[0]
    return parents


def previous_render(out: Path) -> set[str] | None:
    """What replacing `out` would delete: None when `out` does not exist, else the files of the previous
    render (empty for an empty directory). RenderDirError when anything else is at `out`."""
    if out.is_symlink():
        raise RenderDirError(f"{out} is a symbolic link — give the directory itself as --out")
    if not out.exists():
        return None
    if not out.is_dir():
        raise RenderDirError(f"{out} exists and is not a directory — nothing was written; choose a directory")
    if not any(out.iterdir()):
        return set()
    listed = _listed(out)
    files, dirs = _contents(out)
    extra = sorted(files - listed - {MARKER})
    extra += sorted(d + "/" for d in dirs - _parents(listed))
    if extra:
        shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        raise RenderDirError(
            f"{out} holds files the previous render did not write ({shown}) — nothing was written; move "
            "them out of it or choose another --out"
        )
    return files & listed | ({MARKER} if (out / MARKER).exists() else set())


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2); False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _delete_render(directory: Path, files: set[str]) -> None:
    """Delete the files a render wrote, then the directories they leave empty; nothing else."""
    top = os.fspath(directory)
    for name in sorted(files, reverse=True):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(top, name))
    for here, _, _ in sorted(os.walk(directory, topdown=False), key=lambda w: -len(w[0])):
        with contextlib.suppress(OSError):
            os.rmdir(here)


def replace_dir(out: Path, write: Callable[[Path], list[str]]) -> None:
    """Write a render with `write(staging) -> files written` beside `out`, then swap it in atomically.

    `out` is checked before anything is written and again, under the lock, just before the swap.
    """
    out = Path(os.path.abspath(out))
    previous_render(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.render-", dir=out.parent))
    try:
        files = sorted(write(staging))
        marker = {"format": MARKER_FORMAT, "files": files}
        (staging / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
        with _locked(out.parent):
            old = previous_render(out)
            if old is None:
                os.rename(staging, out)
                return
            if not _exchange(staging, out):
                _swap_by_renames(staging, out)
    except BaseException:
        # Whatever is at the staging name now is this run's tree or, once swapped, the previous render
        # (which previous_render checked holds nothing else): never `out`.
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # `staging` now holds the previous render, which nothing refers to any more.
    _delete_render(staging, old)


def _swap_by_renames(new: Path, out: Path) -> None:
    """`out` aside, `new` in, the previous render left at `new`'s name; undone if interrupted between."""
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.previous-", dir=out.parent))
    os.rmdir(aside)
    os.rename(out, aside)
    try:
        os.rename(new, out)
    except BaseException:
        os.rename(aside, out)
        raise
    os.rename(aside, new)
