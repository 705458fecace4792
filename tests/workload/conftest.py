"""Helpers of the workload specs: rendered objects per version, and renders of edited catalogs."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelstack.engine.render import Manifest, Render, dump_yaml, run_program

REPO = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "models.yaml")

Catalog = dict[str, Any]
Edit = Callable[[Catalog], None]


def of_kind(render: Render, kind: str) -> dict[str, dict[str, Any]]:
    return {m.name: m.body for m in render.manifests if m.kind == kind}


def version_deployments(render: Render) -> dict[str, dict[str, Any]]:
    """The versions' Deployments (labelled `app` and `version`), not the golden-set evaluators'."""
    return {
        name: body
        for name, body in of_kind(render, "Deployment").items()
        if {"app", "version"} <= set(body["metadata"].get("labels", {}))
    }


def server_container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "server")


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def version_of(catalog: Catalog, model: str, version: str) -> dict[str, Any]:
    body: dict[str, Any] = catalog["models"][model]["versions"][version]
    return body


class Project:
    """A copy of the repository's stack files and catalog in a temporary directory, to edit and render."""

    def __init__(self, root: Path, examples: Path) -> None:
        self.root = root
        root.mkdir(parents=True)
        for name in PROJECT_FILES:
            (root / name).write_text((REPO / name).read_text())
        # A copy, not a link: build contexts must resolve inside the catalog's project.
        shutil.copytree(examples, root / "examples")

    @property
    def catalog_path(self) -> Path:
        return self.root / "models.yaml"

    def edit(self, change: Edit) -> None:
        catalog = yaml.safe_load(self.catalog_path.read_text())
        change(catalog)
        self.catalog_path.write_text(yaml.safe_dump(catalog, sort_keys=False))

    def edit_stack(self, stack: str, change: Edit) -> None:
        """`change(config)` on the `config:` mapping of `Pulumi.<stack>.yaml`."""
        path = self.root / f"Pulumi.{stack}.yaml"
        body = yaml.safe_load(path.read_text())
        change(body["config"])
        path.write_text(yaml.safe_dump(body, sort_keys=False))

    def render(self, stack: str = "dev") -> Render:
        return run_program(self.root, stack)


@pytest.fixture(scope="session")
def examples_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build contexts, copied once: built versions' digests hash them, and the checkout may change."""
    target = tmp_path_factory.mktemp("snapshot") / "examples"
    shutil.copytree(REPO / "examples", target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture
def project(tmp_path: Path, examples_snapshot: Path) -> Project:
    return Project(tmp_path / "project", examples_snapshot)


@pytest.fixture
def render_edited(project: Project) -> Callable[[Edit], Render]:
    """`render_edited(change)`: the dev stack rendered after `change(catalog)`."""

    def render(change: Edit) -> Render:
        project.edit(change)
        return project.render("dev")

    return render


def workload_objects(render: Render) -> dict[str, str]:
    """This component's objects, by key, as rendered YAML: each version's Deployment, Service, PDB and
    hashed ConfigMap, and each model's ServiceAccount."""
    lock = render.lock["models"]
    versions = {f"{m}-{v}" for m, vs in lock.items() for v in vs}
    config_map = re.compile("^(" + "|".join(map(re.escape, sorted(versions))) + r")-[0-9a-f]{10}$")

    def ours(manifest: Manifest) -> bool:
        if manifest.kind in ("Deployment", "Service", "PodDisruptionBudget"):
            return manifest.name in versions
        if manifest.kind == "ConfigMap":
            return bool(config_map.match(manifest.name))
        return manifest.kind == "ServiceAccount" and manifest.name in lock

    return {m.key: dump_yaml(m.body) for m in render.manifests if ours(m)}
