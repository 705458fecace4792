"""Every catalog rule reports the exact file, line, field path and a message that says how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.catalog.errors import CatalogError, Problem
from components.validation.loader import load_catalog, load_stack_config
from tests.foundation.catalog_project import CATALOG, DIGEST_1, RuleCase, line_of, make_project


def load(tmp: Path, catalog: str) -> list[Problem]:
    make_project(tmp, catalog)
    stack = load_stack_config(tmp, "test")
    try:
        load_catalog(tmp / "models.yaml", stack)
    except CatalogError as exc:
        return exc.problems
    return []


CASES = [
    RuleCase(
        "unknown key with did-you-mean",
        "        weight: 90\n",
        "        wieght: 90\n",
        "wieght",
        "models.llm.versions.v1.wieght",
        "unknown key 'wieght' — did you mean 'weight'?",
    ),
    RuleCase(
        "wrong type",
        "        weight: 90\n",
        "        weight: ninety\n",
        "weight: ninety",
        "models.llm.versions.v1.weight",
        "expected a whole number, got 'ninety'",
    ),
    RuleCase(
        "model name not a DNS-1123 label",
        "  embedder:\n",
        "  Embedder_X:\n",
        "Embedder_X",
        "models.Embedder_X",
        "'Embedder_X' is not a DNS-1123 label",
    ),
    RuleCase(
        "model name too long for derived names",
        "  embedder:\n",
        "  " + "e" * 31 + ":\n",
        "e" * 31,
        "models." + "e" * 31,
        "is 31 characters; at most 30 fit in the names derived from it",
    ),
    RuleCase(
        "duplicate model name",
        "  embedder:\n    server: tgi\n",
        "  llm:\n    server: tgi\n",
        "  llm:",
        "models.llm",
        "duplicate key 'llm' (first defined on line 3)",
        occurrence=2,
    ),
    RuleCase(
        "duplicate version name",
        "      v2:\n",
        "      v1:\n",
        "      v1:",
        "models.llm.versions.v1",
        "duplicate key 'v1'",
        occurrence=2,
    ),
    RuleCase(
        "tag without digest names :latest",
        f"llm@sha256:{DIGEST_1}",
        "llm:latest",
        "llm:latest",
        "models.llm.versions.v1.image",
        "uses tag 'latest' but no digest (':latest' moves with every push",
    ),
    RuleCase(
        "malformed digest",
        f"llm@sha256:{DIGEST_1}",
        "llm@sha256:abc",
        "llm@sha256:abc",
        "models.llm.versions.v1.image",
        "malformed digest 'sha256:abc'",
    ),
    RuleCase(
        "weight above 100",
        "        weight: 90\n",
        "        weight: 190\n",
        "weight: 190",
        "models.llm.versions.v1.weight",
        "190 is out of range: input should be less than or equal to 100",
    ),
    RuleCase(
        "weights not summing to 100",
        "        weight: 10\n",
        "        weight: 20\n",
        "    versions:",
        "models.llm.versions",
        "traffic weights sum to 110, not 100 (v1=90, v2=20) — adjust them",
    ),
    RuleCase(
        "unknown node pool",
        "        nodePool: cpu-a\n",
        "        nodePool: cpu-b\n",
        "nodePool: cpu-b",
        "models.embedder.versions.v1.nodePool",
        "node pool 'cpu-b' is not defined in the stack configuration — did you mean 'cpu-a'?",
    ),
    RuleCase(
        "GPU request without a node pool",
        "        nodePool: cpu-a\n",
        "",
        'resources: {cpu: "2"',
        "models.embedder.versions.v1.resources.gpu",
        "a GPU request needs a GPU node pool",
    ),
    RuleCase(
        "env refers to a missing config key",
        "fromConfig: batch}",
        "fromConfig: bacth}",
        "fromConfig: bacth",
        "models.llm.versions.v1.env[0].fromConfig",
        "config key 'bacth', which this version's config does not define — did you mean 'batch'?",
    ),
    RuleCase(
        "fp16 without a smoke test",
        "        precision: bf16\n",
        "        precision: fp16\n",
        "precision: fp16",
        "models.embedder.versions.v1.precision",
        "fp16 versions must declare a smokeTest",
    ),
    RuleCase(
        "unknown server with did-you-mean",
        "    server: tgi\n",
        "    server: tgl\n",
        "server: tgl",
        "models.embedder.server",
        "'tgl' is not allowed — use one of 'triton', 'vllm', 'tgi' or 'custom'; did you mean 'tgi'?",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_reports_location_and_message(tmp_path: Path, case: RuleCase) -> None:
    catalog = CATALOG.replace(case.old, case.new, 1)
    if case.id == "GPU request without a node pool":
        catalog = catalog.replace('{cpu: "2", memory: 4Gi}', '{cpu: "2", memory: 4Gi, gpu: 1}')
    assert catalog != CATALOG
    problems = load(tmp_path, catalog)
    matching = [p for p in problems if p.path == case.path]
    assert matching, f"no problem at {case.path}; got: {[str(p) for p in problems]}"
    problem = matching[0]
    assert problem.file.endswith("models.yaml")
    assert problem.line == line_of(catalog, case.line_needle, case.occurrence)
    assert case.message in problem.message


def test_yaml_syntax_error_has_file_and_line(tmp_path: Path) -> None:
    catalog = CATALOG.replace("    server: tgi\n", "    server: [tgi\n")
    problems = load(tmp_path, catalog)
    assert len(problems) == 1
    assert problems[0].message.startswith("YAML syntax error:")
    assert problems[0].line >= line_of(catalog, "server: [tgi")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    catalog = (
        CATALOG.replace("        weight: 10\n", "        weight: 20\n")
        .replace("nodePool: cpu-a", "nodePool: cpu-z")
        .replace("    server: tgi\n", "    server: tgi\n    colour: blue\n")
    )
    paths = {p.path for p in load(tmp_path, catalog)}
    assert {"models.llm.versions", "models.embedder.colour"} <= paths


def test_valid_catalog_loads(tmp_path: Path) -> None:
    assert load(tmp_path, CATALOG) == []


def test_message_format_is_file_line_column_path_message(tmp_path: Path) -> None:
    catalog = CATALOG.replace("        weight: 90\n", "        wieght: 90\n")
    text = str(next(p for p in load(tmp_path, catalog) if "wieght" in p.path))
    line = line_of(catalog, "wieght")
    assert text.startswith(
        f"{tmp_path / 'models.yaml'}:{line}:9: models.llm.versions.v1.wieght: unknown key 'wieght'"
    )
