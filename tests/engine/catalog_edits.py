"""Release steps as a reviewer writes them: an edit of `models.yaml`, committed in a project copy."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.engine.engine import git

NEW_DIGEST = "sha256:" + "5" * 64

CatalogEdit = Callable[[Any], None]


def edit_catalog(project: Path, edit: CatalogEdit, message: str) -> None:
    """Round-trip `models.yaml` (comments and order kept, like a reviewer's edit) and commit it."""
    yaml = YAML()
    yaml.preserve_quotes = True
    path = project / "models.yaml"
    document = yaml.load(path.read_text(encoding="utf-8"))
    edit(document["models"])
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    git(project, "commit", "--quiet", "--all", "-m", message)


def set_weights(model: str, **weights: int) -> CatalogEdit:
    def edit(models: Any) -> None:
        for version, weight in weights.items():
            models[model]["versions"][version]["weight"] = weight

    return edit


def add_version(model: str, source: str, name: str, weight: int = 0, pinned: bool = False) -> CatalogEdit:
    """`name`, a copy of `source` with a new image digest and weights of its own, at `weight`; `pinned`:
    with a header pin of its own (a new route)."""

    def edit(models: Any) -> None:
        versions = models[model]["versions"]
        new = json.loads(json.dumps(versions[source]))
        new["image"] = new["image"].split("@")[0] + "@" + NEW_DIGEST
        new["weight"] = weight
        new.pop("match", None)
        if pinned:
            new["match"] = [{"header": "x-model-version", "value": name}]
        csi = (new.get("modelWeights") or {}).get("volume", {}).get("csi")
        if csi:
            csi["volumeHandle"] = f"{model}-weights-{name}"
        versions[name] = new

    return edit


def remove_version(model: str, name: str) -> CatalogEdit:
    def edit(models: Any) -> None:
        del models[model]["versions"][name]

    return edit


def set_config(model: str, version: str, **config: str) -> CatalogEdit:
    def edit(models: Any) -> None:
        models[model]["versions"][version]["config"].update(config)

    return edit
