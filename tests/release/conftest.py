"""A temporary copy of the repository's catalog (and stack files) that release commands may edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    """`models.yaml` copied beside the stack files, so `set_weight` validates against dev and prod."""
    for name in ("models.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # build contexts are relative to the catalog
    return tmp_path / "models.yaml"


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(old, new) of every line that differs, for texts with the same number of lines."""
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]
