"""Released versions never change: what each version was released as, and the check that refuses a change.

`render` writes `versions.lock.json` next to `outputs.json`: per model and version the image, a digest of
its configuration (config, configFiles, env), its resources, args, precision and weights. `preview`
compares the base's lock with the working tree's; a version present in both whose record differs is an
invalid catalog (exit 2), located at the field in `models.yaml`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from components.catalog.errors import CatalogError, Problem
from components.catalog.source import SourceMap, load_yaml
from components.catalog.version import VersionSpec
from components.naming import version_object_name
from components.validation.loader import load_stack_config

if TYPE_CHECKING:
    from components.stack import ModelStack
    from modelstack.render import Manifest

LOCK_FILE = "versions.lock.json"
LOCK_FORMAT = 1
SERVER_CONTAINER = "server"
# Field of a release record -> the catalog field a reader fixes.
CATALOG_FIELD = {
    "image": "image",
    "config": "config",
    "resources": "resources",
    "args": "args",
    "precision": "precision",
    "weights": "modelWeights",
}

Lock = dict[str, Any]


# --- the lock -------------------------------------------------------------------------------------


def config_digest(version: VersionSpec) -> str:
    """One digest over everything that configures the server beyond its image."""
    content = {
        "config": version.config,
        "configFiles": version.config_files,
        "env": [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in version.env],
    }
    blob = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def release_record(version: VersionSpec, image: str) -> dict[str, Any]:
    weights = version.model_weights
    return {
        "image": image,
        "config": config_digest(version),
        "resources": version.resources.model_dump(mode="json", by_alias=True, exclude_none=True),
        "args": list(version.args),
        "precision": version.precision.value,
        "weights": weights.model_dump(mode="json", by_alias=True, exclude_none=True) if weights else None,
    }


def _server_image(deployment: Mapping[str, Any]) -> str | None:
    containers = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    named = [c for c in containers if c.get("name") == SERVER_CONTAINER] or containers[:1]
    return named[0].get("image") if named else None


def versions_lock(model_stack: ModelStack, manifests: Iterable[Manifest]) -> Lock:
    """The lock of a render: catalog objects the program used, images as the Deployments resolved them
    (a built version's digest is only known there)."""
    images = {m.name: _server_image(m.body) for m in manifests if m.kind == "Deployment"}
    models: dict[str, dict[str, Any]] = {}
    for model_name, served in model_stack.models.items():
        models[model_name] = {
            version_name: release_record(
                workload.spec.version, images.get(version_object_name(model_name, version_name)) or ""
            )
            for version_name, workload in served.versions.items()
        }
    return {"format": LOCK_FORMAT, "models": models}


def _lock_from_deployments(directory: Path) -> Lock:
    """A render made before locks existed: its Deployments still tell which image each version runs."""
    models: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.rglob("Deployment.apps/*.yaml")):
        body = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        labels = body.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
        image = _server_image(body)
        if "app" in labels and "version" in labels and image:
            models.setdefault(labels["app"], {})[labels["version"]] = {"image": image}
    return {"format": 0, "models": models}


def read_lock(directory: Path) -> Lock:
    path = directory / LOCK_FILE
    if path.exists():
        lock: Lock = json.loads(path.read_text(encoding="utf-8"))
        return lock
    return _lock_from_deployments(directory)


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
