"""The keys of the render cache: what a model's entry and a whole render are addressed by.

A model's key: its catalog entry as written and the stack key (the code, the names, the stack's
configuration as Pulumi passes it and as the program resolves it, and a models shard's view of its base).
A whole render's key: the code, the stack, Pulumi.yaml and the stack file, and where it runs unless that is
the project root (`_location`), plus the files it records as dependencies (the catalog, every stack file of
the project, named relative to the root when inside it), checked on each use.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelstack.engine.render_cache import code_version, digest

STACK_FILE = "Pulumi.{stack}.yaml"
RENDER = "render"


def _file_digest(path: Path) -> str:
    """SHA-256 of a regular file's bytes, read in chunks; a tag for anything else. A stack file or catalog
    may be a FIFO, a directory or a link to /dev/zero (the loader refuses them with a located error):
    reading it whole to compute a key would block or exhaust memory first."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return "absent"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "not a regular file"
        h = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            h.update(chunk)
        return "sha256:" + h.hexdigest()
    except OSError:
        return "unreadable"
    finally:
        os.close(fd)


def _location(root: Path) -> tuple[str, ...]:
    """Where the render runs, as far as it can show in the render. Run from the project root, nothing: every
    file it reads inside the project is named relative to the root, in its dependencies and its messages
    alike, so another checkout of the same revision (`preview --base`'s temporary worktree, CI's checkout of
    main) finds the render whole. Run from elsewhere, messages name files from there: the root and the
    working directory themselves."""
    cwd = os.getcwd()
    return ("from the project root",) if Path(cwd) == root else (str(root), cwd)


def inputs_key(root: Path, stack: str) -> str:
    """Everything a render reads besides the files its entry records (`_dependencies`: the catalog and
    every stack file of the project) and build contexts (renders with builds are not stored whole)."""
    root = root.resolve()
    return digest(
        code_version(),
        RENDER,
        stack,
        *_location(root),
        _file_digest(root / "Pulumi.yaml"),
        _file_digest(root / STACK_FILE.format(stack=stack)),
    )


_IN_ROOT = "@/"


def _name(path: Path, root: Path) -> str:
    """A dependency's path: relative to the project root when inside it (see `_location`), else absolute."""
    real = path.resolve()
    try:
        return _IN_ROOT + real.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(real)


def _path(name: str, root: Path) -> Path:
    return root.resolve() / name.removeprefix(_IN_ROOT) if name.startswith(_IN_ROOT) else Path(name)


def _project_files(directory: Path) -> list[Path]:
    """Pulumi.yaml and every stack file: a models shard reads its base's, and validation reads every stack's
    `modelstack:shard` (each model owned by exactly one shard of its base)."""
    return sorted(directory.glob("Pulumi*.yaml"))


def project_dependencies(root: Path, catalog: Path) -> dict[str, str]:
    """What a whole render read from disk besides its key's inputs, by digest: checked on every use."""
    from components.validation.loader import catalog_project

    found = {f"file:{_name(catalog, root)}": _file_digest(catalog)}
    for directory in dict.fromkeys((root.resolve(), catalog_project(catalog))):
        files = _project_files(directory)
        # A stack file added or removed changes a family as much as an edited one.
        found[f"stacks:{_name(directory, root)}"] = digest(*(path.name for path in files))
        found.update({f"file:{_name(path, root)}": _file_digest(path) for path in files})
    return found


def file_dependencies(paths: Sequence[Path], root: Path) -> dict[str, str]:
    """Each file as a dependency of a whole render (checked on each use like the catalog)."""
    return {f"file:{_name(path, root)}": _file_digest(path) for path in paths}


def current_digests(names: Sequence[str], root: Path) -> dict[str, str]:
    """Each dependency (`file:…`, `stacks:…`) as it is on disk now."""
    found = {}
    for name in names:
        kind, _, where = name.partition(":")
        if kind == "file":
            found[name] = _file_digest(_path(where, root))
        else:
            found[name] = digest(*(path.name for path in _project_files(_path(where, root))))
    return found


def whole_key(inputs: str, dependencies: dict[str, str]) -> str:
    """Where a whole render is stored: its inputs' key and what its dependencies hold, so renders of the same
    stack from other catalogs (a branch, the base of a preview) are kept beside it, not in its place."""
    return digest(inputs, *(f"{name}={value}" for name, value in sorted(dependencies.items())))


def model_key(stack_key: str, name: str, entry: Any, files: Sequence[Path] = ()) -> str:
    """`files`: what the model's objects hold besides its entry (a golden set), keyed by their bytes."""
    # repr of the plain data YAML gives: keeps key order (versions are in catalog order) and tells 1,
    # 1.0, "1" and True apart.
    return digest(stack_key, "model", name, repr(entry), *(_file_digest(path) for path in files))


def stack_key(project: str, stack: str, wire: Any, config: Any, *, base: Any, builds_images: bool) -> str:
    """What every model's objects share: code, names, the stack's configuration as Pulumi passes it
    (secrets, pull secrets and the registry password included) and as the program resolves it (a models
    shard's is mostly its base's: shard selection, hand-overs, pools, autoscaling, analysis and release
    settings), and for a models shard what it reads of its base through the StackReference."""
    return digest(
        code_version(),
        project,
        stack,
        json.dumps(sorted(wire.values.items())),
        json.dumps(sorted(wire.secret_keys)),
        json.dumps(config.model_dump(mode="json", by_alias=True), sort_keys=True, default=str),
        json.dumps(base, sort_keys=True, default=str),
        str(builds_images),
    )
