"""A temporary copy of the repository's catalog (and stack files) that release commands may edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def copy_build_contexts(directory: Path) -> None:
    """Build contexts are relative to the catalog and must be inside its project: copied, not linked."""
    if not (directory / "examples").exists():
        shutil.copytree(
            ROOT / "examples",
            directory / "examples",
            ignore=shutil.ignore_patterns("wheelhouse", "__pycache__"),
        )


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    """A copy of the project (program settings, stack files, catalog, build contexts) in a temporary
    directory, so `set_weight` validates against dev and prod and release commands may edit it."""
    for name in ("Pulumi.yaml", "models.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    copy_build_contexts(tmp_path)
    return tmp_path / "models.yaml"


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(old, new) of every line that differs, for texts with the same number of lines."""
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]
