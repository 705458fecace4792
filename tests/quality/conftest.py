"""Projects for the golden-set evaluator's tests: the repository's, with its catalog or stack edited."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelstack.engine.render import Render, run_program

ROOT = Path(__file__).resolve().parents[2]
MODEL = "text-embedder"


def repo_catalog() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "models.yaml").read_text(encoding="utf-8"))


def write_project(
    dest: Path, catalog: dict[str, Any], stack_edit: Callable[[str], str] = lambda text: text
) -> Path:
    """A copy of the project at `dest` (stack files, examples) with `catalog` as its models.yaml."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "Pulumi.yaml", dest / "Pulumi.yaml")
    for stack in ("dev", "prod"):
        text = (ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
        (dest / f"Pulumi.{stack}.yaml").write_text(stack_edit(text), encoding="utf-8")
    if not (dest / "examples").exists():
        shutil.copytree(
            ROOT / "examples", dest / "examples", ignore=shutil.ignore_patterns("wheelhouse", "__pycache__")
        )
    (dest / "models.yaml").write_text(yaml.safe_dump(catalog, sort_keys=False), encoding="utf-8")
    return dest


def with_canary(catalog: dict[str, Any]) -> dict[str, Any]:
    """text-embedder with a second version, v2 at weight 0: a canary the evaluator scores beside v1."""
    data = copy.deepcopy(catalog)
    versions = data["models"][MODEL]["versions"]
    versions["v2"] = {**copy.deepcopy(versions["v1"]), "weight": 0}
    return data


@pytest.fixture(scope="session")
def canary_render(tmp_path_factory: pytest.TempPathFactory) -> Render:
    """The dev stack rendered with text-embedder's canary v2 beside v1."""
    project = write_project(tmp_path_factory.mktemp("canary-project"), with_canary(repo_catalog()))
    return run_program(project, "dev")


def only(render: Render, kind: str, name: str) -> dict[str, Any]:
    [body] = [m.body for m in render.manifests if m.kind == kind and m.name == name]
    return body


def named_like(render: Render, kind: str, prefix: str) -> dict[str, Any]:
    [body] = [m.body for m in render.manifests if m.kind == kind and m.name.startswith(prefix)]
    return body
