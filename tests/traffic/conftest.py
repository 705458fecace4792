"""Catalog variants for traffic tests: the repository's catalog with one model's fields replaced."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.catalog.catalog import Catalog
from components.catalog.model import ModelSpec
from components.catalog.stack_config import StackConfig
from components.validation.loader import load_catalog, load_stack_config

ROOT = Path(__file__).resolve().parent.parent.parent


def _link_build_contexts(directory: Path) -> None:
    """Build contexts are relative to the catalog and inside its project: a copied catalog needs a copy
    of them beside it (a link out of the directory would be refused)."""
    if not (directory / "examples").exists():
        shutil.copytree(
            ROOT / "examples",
            directory / "examples",
            ignore=shutil.ignore_patterns("wheelhouse", "__pycache__"),
        )


def repo_catalog() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "models.yaml").read_text())


@pytest.fixture(scope="session")
def dev_stack() -> StackConfig:
    return load_stack_config(ROOT, "dev")


@pytest.fixture
def catalog_with(
    tmp_path: Path, dev_stack: StackConfig
) -> Callable[[Callable[[dict[str, Any]], None]], Catalog]:
    """`catalog_with(edit)`: the repository catalog after `edit(data)`, validated for the dev stack."""

    def build(edit: Callable[[dict[str, Any]], None]) -> Catalog:
        data = copy.deepcopy(repo_catalog())
        edit(data)
        path = tmp_path / "models.yaml"
        _link_build_contexts(tmp_path)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return load_catalog(path, dev_stack).catalog

    return build


def model_of(catalog: Catalog, name: str) -> ModelSpec:
    return catalog.models[name]
