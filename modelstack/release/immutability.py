"""Released versions never change: the check that refuses a change to one.

The engine records what each version was released as with every render (`modelstack.engine.lock`);
`preview` hands `released_versions_guard` to the engine, which compares the base's lock with the working
tree's. A version present in both whose record differs is an invalid catalog (exit 2), located at the field
in `models.yaml`; the text and JSON previews print no plan then, the PR comment shows it beside the plan.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.catalog.errors import CatalogError, Problem
from modelstack.engine.lock import Lock, read_lock

if TYPE_CHECKING:
    from components.catalog.source import SourceMap

# Field of a release record -> the catalog field a reader fixes.
CATALOG_FIELD = {
    "image": "image",
    "config": "config",
    "resources": "resources",
    "args": "args",
    "precision": "precision",
    "weights": "modelWeights",
}


# --- the comparison -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseChange:
    model: str
    version: str
    field: str
    before: Any
    after: Any


def release_changes(base: Lock, head: Lock) -> list[ReleaseChange]:
    """Fields that differ for versions in both locks (only fields both locks record)."""
    changes = []
    for model, versions in sorted(base.get("models", {}).items()):
        for version, before in sorted(versions.items()):
            after = head.get("models", {}).get(model, {}).get(version)
            if after is None:
                continue
            changes += [
                ReleaseChange(model, version, name, before[name], after[name])
                for name in CATALOG_FIELD
                if name in before and name in after and before[name] != after[name]
            ]
    return changes


def next_version_name(version: str, taken: Iterable[str]) -> str:
    """`v3` -> `v4` (or the next free number); other names get `-2`, `-3`..."""
    used = set(taken)
    match = re.fullmatch(r"(.*?)(\d+)", version)
    prefix, number = (match.group(1), int(match.group(2))) if match else (f"{version}-", 1)
    number += 1
    while f"{prefix}{number}" in used:
        number += 1
    return f"{prefix}{number}"


def _digest(image: str) -> str:
    return image.partition("@")[2] or image or "(no image)"


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def change_message(change: ReleaseChange, taken: Iterable[str]) -> str:
    v, m = change.version, change.model
    advice = f"release it as a new version (e.g. {next_version_name(v, taken)}) and move the weight there"
    if change.field == "image":
        return (
            f"version {v} of {m} was released as {_digest(change.before)}; a new image needs a new version "
            f"name (this change would run {_digest(change.after)} as {v}) — {advice}"
        )
    if change.field == "config":
        return (
            f"version {v} of {m} was released with other config/configFiles/env ({change.before[:19]}…, "
            f"now {change.after[:19]}…); new configuration needs a new version name — {advice}"
        )
    if change.field == "precision":
        return (
            f"version {v} of {m} was released in {change.before}, now {change.after}; a new precision needs "
            f"a new version name — {advice}"
        )
    what = {"resources": "resources", "args": "args", "weights": "modelWeights"}[change.field]
    return (
        f"version {v} of {m} was released with {what} {_compact(change.before)}, now "
        f"{_compact(change.after)}; changed {what} need a new version name — {advice}"
    )


def catalog_source(root: Path, stack: str) -> SourceMap:
    # Imported here: a preview whose released versions are unchanged needs neither (nor pydantic).
    from components.catalog.source import load_yaml
    from components.validation.loader import load_stack_config

    path = root / load_stack_config(root, stack).catalog
    try:
        display = os.path.relpath(path)
    except ValueError:
        display = str(path)
    return load_yaml(path, display)[1]


def immutability_problems(base: Lock, head: Lock, source: SourceMap) -> list[Problem]:
    problems = []
    for change in release_changes(base, head):
        where = ("models", change.model, "versions", change.version, CATALOG_FIELD[change.field])
        taken = head.get("models", {}).get(change.model, {})
        problems.append(source.problem(where, change_message(change, taken)))
    return problems


def check_versions_unchanged(base: Lock, head: Lock, source: SourceMap) -> None:
    """Raise CatalogError (exit 2) naming every released version the working tree would change."""
    problems = immutability_problems(base, head, source)
    if problems:
        raise CatalogError(problems)


def released_versions_guard(root: Path, stack: str) -> Callable[[Path, Path], list[Problem]]:
    """For `modelstack.engine.preview.preview`: the released versions a head render would change, as
    located problems; any one refuses the preview (exit 2)."""

    def guard(base_dir: Path, head_dir: Path) -> list[Problem]:
        base, head = read_lock(base_dir), read_lock(head_dir)
        if not release_changes(base, head):
            # Positions are only needed to locate a change: re-reading models.yaml with them costs about a
            # second at 1,000 models.
            return []
        return immutability_problems(base, head, catalog_source(root, stack))

    return guard
