"""What a render records about each version it released: `versions.lock.json`, next to `outputs.json`.

Per model and version: the image, a digest of its configuration (config, configFiles, env), its
resources, args, precision and weights. The engine writes it with every render and reads it back from
any render directory (one made before locks existed still tells its images through its Deployments);
the release tooling (`modelstack.release.immutability`) compares two of them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from components.naming import version_object_name

if TYPE_CHECKING:
    from components.catalog.version import VersionSpec
    from components.stack import ModelStack
    from modelstack.engine.manifest import Manifest

LOCK_FILE = "versions.lock.json"
LOCK_FORMAT = 1
SERVER_CONTAINER = "server"

Lock = dict[str, Any]


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
