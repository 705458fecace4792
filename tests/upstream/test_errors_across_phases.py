"""Item 9 of issue #20: one run reports the stack file's errors and the catalog's together — a version's
schema errors with the rule errors of its other fields, the rules that need no stack beside an invalid
stack file — and still registers nothing (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from components.catalog.catalog import Catalog
from components.catalog.errors import CatalogError
from components.catalog.version import VersionSpec
from components.validation.loader import load_stack_and_catalog, load_stack_config
from components.validation.partial import partial_version
from components.validation.rules import PER_VERSION_RULES, RuleContext, Unknown, run_rules
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


# --- every error of a catalog in one run: partly invalid versions, and rules that need no stack ---------

# Version A (llm v1): a schema error in `weight`, a rule error in its own `env` (fromConfig of no key);
# version B (embedder v1): a rule error in `nodePool` (no such pool, which needs the stack to know).
SCHEMA_AND_RULES = (
    CATALOG.replace("        weight: 90\n", "        weight: 900\n")
    .replace("{name: BATCH, fromConfig: batch}", "{name: BATCH, fromConfig: batchsize}")
    .replace("nodePool: cpu-a", "nodePool: cpu-b")
)


def problems_of(root: Path) -> dict[str, tuple[int, str]]:
    with pytest.raises(CatalogError) as caught:
        load_stack_and_catalog(root, "test")
    return {p.path: (p.line, p.message) for p in caught.value.problems}


def test_a_schema_error_in_a_version_does_not_hide_its_other_fields_rule_errors(tmp_path: Path) -> None:
    make_project(tmp_path, SCHEMA_AND_RULES)
    found = problems_of(tmp_path)
    assert found["models.llm.versions.v1.weight"][0] == line_of(SCHEMA_AND_RULES, "weight: 900")
    line, message = found["models.llm.versions.v1.env[0].fromConfig"]
    assert line == line_of(SCHEMA_AND_RULES, "fromConfig: batchsize")
    assert "refers to config key 'batchsize'" in message
    assert "node pool 'cpu-b' is not defined" in found["models.embedder.versions.v1.nodePool"][1]


def test_a_rule_that_reads_a_field_that_failed_says_nothing_about_that_version(tmp_path: Path) -> None:
    # nodePool fails the schema; without the guard the pool rule would read the field's absence and claim
    # "a GPU request needs a GPU node pool" — an error the author did not make.
    catalog = CATALOG.replace("nodePool: gpu-a\n", "nodePool: GPU_A\n", 1)
    make_project(tmp_path, catalog)
    found = problems_of(tmp_path)
    assert "models.llm.versions.v1.nodePool" in found
    assert "models.llm.versions.v1.resources.gpu" not in found
    assert len(found) == 1, found


def test_beside_an_unknown_key_the_fields_left_to_their_default_are_not_read(tmp_path: Path) -> None:
    # `nodepool` is a misspelling of nodePool: its default (no pool) is not what the author wrote, so no
    # rule may conclude from it; the fields that were written still are checked.
    catalog = CATALOG.replace("nodePool: gpu-a\n", "nodepool: gpu-a\n", 1).replace(
        "fromConfig: batch}", "fromConfig: batchsize}"
    )
    make_project(tmp_path, catalog)
    found = problems_of(tmp_path)
    assert "unknown key 'nodepool'" in found["models.llm.versions.v1.nodepool"][1]
    assert "models.llm.versions.v1.env[0].fromConfig" in found
    assert "models.llm.versions.v1.resources.gpu" not in found


def test_a_stack_file_error_does_not_hide_the_catalog_rules_that_need_no_stack(tmp_path: Path) -> None:
    make_project(tmp_path, SCHEMA_AND_RULES, BROKEN_STACK)
    found = problems_of(tmp_path)
    assert {
        "modelstack:namespace",
        "models.llm.versions.v1.weight",
        "models.llm.versions.v1.env[0].fromConfig",
    } <= set(found)
    # Whether cpu-b exists is the stack's to say: that rule waits for a valid stack file.
    assert "models.embedder.versions.v1.nodePool" not in found


@pytest.mark.parametrize("command", ["validate", "preview"])
def test_the_cli_reports_every_error_of_both_files_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    make_project(tmp_path, SCHEMA_AND_RULES, BROKEN_STACK)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, [command, "--stack", "test"])
    assert result.exit_code == 2, result.output
    for shown in (
        f"Pulumi.test.yaml:{line_of(BROKEN_STACK, 'modelstack:namespace')}:",
        f"models.yaml:{line_of(SCHEMA_AND_RULES, 'weight: 900')}:",
        f"models.yaml:{line_of(SCHEMA_AND_RULES, 'fromConfig: batchsize')}:",
    ):
        assert shown in result.output, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "build").exists()  # nothing rendered


@pytest.mark.parametrize("command", ["validate", "preview"])
def test_the_cli_reports_schema_and_rule_errors_of_one_version_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    make_project(tmp_path, SCHEMA_AND_RULES)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, [command, "--stack", "test"])
    assert result.exit_code == 2, result.output
    assert "models.llm.versions.v1.weight" in result.output
    assert "models.llm.versions.v1.env[0].fromConfig" in result.output
    assert "models.embedder.versions.v1.nodePool" in result.output
    assert "Traceback" not in result.output


# A valid version (llm v1 of CATALOG) and, per field, a value the schema refuses.
VALID = yaml.safe_load(CATALOG)["models"]["llm"]["versions"]["v1"]
BREAKS = {
    "weight": 900,
    "nodePool": "GPU_A",
    "resources": {"cpu": "8", "memory": "64Gi", "gpu": -1},
    "precision": "fp7",
    "loadTimeoutSeconds": 1,
    "replicas": {"min": -1},
    "args": [{"not": "a string"}],
    "config": "not a mapping",
}
NAME = {"nodePool": "node_pool", "loadTimeoutSeconds": "load_timeout_seconds"}


@settings(max_examples=60, deadline=None)
@given(broken=st.sets(st.sampled_from(sorted(BREAKS)), min_size=1), misspelt=st.booleans())
def test_a_partly_invalid_version_reads_as_the_valid_one_in_every_safe_field(
    broken: set[str], misspelt: bool
) -> None:
    body = {**VALID, **{key: BREAKS[key] for key in broken}}
    if misspelt:
        body["loadTimeout"] = 60
    with pytest.raises(ValidationError) as caught:
        VersionSpec.model_validate(body)
    spec = partial_version(body, caught.value)
    valid = VersionSpec.model_validate(VALID)
    written = {NAME.get(k, k) for k in VALID} | {NAME.get(k, k) for k in broken}
    unsafe = {NAME.get(k, k) for k in broken} | (
        set(VersionSpec.model_fields) - written if misspelt else set()
    )
    assert spec is not None
    for field in VersionSpec.model_fields:
        if field in unsafe:
            with pytest.raises(Unknown):
                getattr(spec, field)
        else:
            assert getattr(spec, field) == getattr(valid, field)


def test_an_error_of_the_version_as_a_whole_leaves_nothing_to_read() -> None:
    body = {k: v for k, v in VALID.items() if k != "image"}  # neither image nor build
    with pytest.raises(ValidationError) as caught:
        VersionSpec.model_validate(body)
    assert partial_version(body, caught.value) is None


VIOLATIONS = (
    CATALOG.replace("fromConfig: batch}", "fromConfig: batchsize}")
    .replace("nodePool: cpu-a", "nodePool: cpu-b")
    .replace(
        "        precision: bf16\n",
        "        precision: bf16\n        config: {a: x}\n        configFiles: {a: y}\n",
    )
    .replace(
        "      v2:\n        image:",
        "      v2:\n        env: [{name: T, fromSecret: {name: nope, key: k}}]\n        image:",
    )
    .replace('resources: {cpu: "2", memory: 4Gi}', 'resources: {cpu: "2", memory: 4Gi, gpu: 1}')
)


@pytest.mark.parametrize(
    ("catalog", "stack"),
    [(ROOT_CATALOG := "models.yaml", "dev"), (ROOT_CATALOG, "prod"), (VIOLATIONS, "test")],
    ids=["repository-dev", "repository-prod", "violations"],
)
@pytest.mark.parametrize("rule", PER_VERSION_RULES, ids=lambda r: r.__name__)
def test_a_per_version_rule_says_of_each_version_alone_what_it_says_of_the_whole_catalog(
    tmp_path: Path, project_root: Path, catalog: str, stack: str, rule: object
) -> None:
    """The rules run on a partly invalid version see that version alone: they must not need the others."""
    if catalog == ROOT_CATALOG:
        root, text = project_root, (project_root / catalog).read_text(encoding="utf-8")
    else:
        root, text = make_project(tmp_path, catalog), catalog
    parsed = Catalog.model_validate(yaml.safe_load(text))
    ctx = RuleContext(
        models=dict(parsed.models), stack=load_stack_config(root, stack), catalog_dir=root, project_dir=root
    )
    whole = run_rules(ctx, (rule,))  # type: ignore[arg-type]
    alone = [
        finding
        for name, version, spec in ctx.versions()
        for finding in run_rules(
            RuleContext(
                models={},
                stack=ctx.stack,
                catalog_dir=root,
                orphan_versions={(name, version): spec},
                project_dir=root,
            ),
            (rule,),  # type: ignore[arg-type]
        )
    ]
    assert sorted(alone, key=repr) == sorted(whole, key=repr)
    if catalog == VIOLATIONS:
        assert rule.__name__ not in VIOLATED or whole, f"{rule.__name__} found nothing to compare"  # type: ignore[attr-defined]


VIOLATED = {
    "node_pools_exist",
    "config_references_exist",
    "secrets_are_declared",
    "config_keys_are_distinct",
}


def test_a_stack_value_pulumi_cannot_pass_does_not_hide_the_catalogs_errors(tmp_path: Path) -> None:
    stack = STACK.replace(
        "    - name: cpu-a\n      maxNodes: 2\n", "    - name: cpu-a\n      maxNodes: .inf\n"
    )
    assert stack != STACK
    make_project(tmp_path, SCHEMA_AND_RULES, stack)
    found = problems_of(tmp_path)
    assert "not a number JSON can carry" in found["modelstack:nodePools[1].maxNodes"][1]
    assert {"models.llm.versions.v1.weight", "models.llm.versions.v1.env[0].fromConfig"} <= set(found)
