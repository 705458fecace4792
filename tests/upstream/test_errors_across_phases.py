"""Item 9 of issue #20: one run reports the stack file's errors and the catalog's together, and still
registers nothing (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from components.catalog.errors import CatalogError
from components.validation.loader import load_stack_and_catalog
from modelstack.cli import cli
from tests.foundation.catalog_project import CATALOG, STACK, line_of, make_project

BROKEN_STACK = STACK.replace("modelstack:namespace: ml-test", "modelstack:namespace: Not_A_Label")
BROKEN_CATALOG = CATALOG.replace("        weight: 90\n", "        weight: 900\n")


def test_a_stack_file_error_does_not_hide_the_catalogs_errors(tmp_path: Path) -> None:
    make_project(tmp_path, BROKEN_CATALOG, BROKEN_STACK)
    with pytest.raises(CatalogError) as caught:
        load_stack_and_catalog(tmp_path, "test")
    located = {(Path(p.file).name, p.line, p.path) for p in caught.value.problems}
    assert (
        "Pulumi.test.yaml",
        line_of(BROKEN_STACK, "modelstack:namespace"),
        "modelstack:namespace",
    ) in located
    assert ("models.yaml", line_of(BROKEN_CATALOG, "weight: 900"), "models.llm.versions.v1.weight") in located


def test_validate_prints_both_and_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_project(tmp_path, BROKEN_CATALOG, BROKEN_STACK)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate", "--stack", "test"])
    assert result.exit_code == 2, result.output
    assert "Pulumi.test.yaml" in result.output and "models.yaml" in result.output
    assert "Traceback" not in result.output


def test_a_valid_stack_still_runs_the_rules_that_need_it(tmp_path: Path) -> None:
    catalog = BROKEN_CATALOG.replace("nodePool: cpu-a", "nodePool: no-such-pool")
    make_project(tmp_path, catalog)
    with pytest.raises(CatalogError) as caught:
        load_stack_and_catalog(tmp_path, "test")
    paths = {p.path for p in caught.value.problems}
    assert {"models.llm.versions.v1.weight", "models.embedder.versions.v1.nodePool"} <= paths
