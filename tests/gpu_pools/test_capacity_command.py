"""`modelstack capacity` prints the stack's capacity plan as a table or JSON; an overflow at minimum
replicas is a located error (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from components.gpu.capacity_report import capacity_plan
from components.validation.loader import load_catalog, load_stack_config
from modelstack.cli.commands.capacity import command
from modelstack.engine.render import Render
from tests.gpu_pools.project import CATALOG, STACK_NAME, line_of, make_project


def run(root: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.chdir(root)
    result = CliRunner().invoke(command, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_prod_plan_table_lists_each_pool_resource_with_supply_and_demand(
    project_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(project_root, "--stack", "prod", monkeypatch=monkeypatch)

    rows = {tuple(line.split()[:2]): line.split()[2:] for line in out.splitlines() if line.startswith("gpu-")}
    assert code == 0
    assert rows[("gpu-h100", "gpu")] == ["nvidia.com/gpu", "8×4=32", "3", "10", "9%", "31%", "1/2", "ok"]
    assert rows[("gpu-h100-mig", "3g.40gb")] == [
        "nvidia.com/mig-3g.40gb",
        "8×2=16",
        "1",
        "2",
        "6%",
        "12%",
        "1/1",
        "ok",
    ]


def test_json_plan_is_the_exported_capacity_plan(project_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(project_root, "--stack", "prod", "--json", monkeypatch=monkeypatch)
    stack = load_stack_config(project_root, "prod")
    catalog = load_catalog(project_root / stack.catalog, stack).catalog

    assert code == 0
    assert json.loads(out) == {"stack": "prod", **capacity_plan(catalog, stack), "unplanned": {}}


def test_json_plan_counts_mig_instances_per_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(make_project(tmp_path), "--stack", STACK_NAME, "--json", monkeypatch=monkeypatch)

    mixed = next(pool for pool in json.loads(out)["pools"] if pool["pool"] == "mixed")
    assert code == 0
    assert {r["unit"]: (r["supply"], r["demand"]) for r in mixed["resources"]} == {
        "3g.20gb": (8, {"min": 1, "max": 1}),
        "2g.10gb": (8, {"min": 0, "max": 0}),
        "1g.5gb+me": (8, {"min": 1, "max": 1}),
    }


def test_a_plan_that_cannot_fit_minimum_replicas_exits_2_with_the_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = CATALOG.replace("{min: 2, max: 4}", "{min: 9, max: 9}")

    code, _, err = run(make_project(tmp_path, catalog), "--stack", STACK_NAME, monkeypatch=monkeypatch)

    assert code == 2
    assert f"models.yaml:{line_of(catalog, 'nodePool: whole')}:" in err
    assert "node pool 'whole' cannot fit every version at minimum replicas" in err


def test_a_pool_without_cpu_and_memory_sizes_says_it_cannot_be_planned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(make_project(tmp_path), "--stack", STACK_NAME, monkeypatch=monkeypatch)

    summary = next(line for line in out.splitlines() if line.startswith("cpu: "))
    assert code == 0
    assert summary.startswith("cpu: cannot be planned — the pool sets no cpuPerNode and memoryGibPerNode")
    assert "fits" not in summary and "nodes needed 0" not in summary
    row = next(line for line in out.splitlines() if line.startswith("cpu "))
    assert row.endswith("not planned (no cpuPerNode/memoryGibPerNode)")


def test_the_json_plan_names_the_pools_it_cannot_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(make_project(tmp_path), "--stack", STACK_NAME, "--json", monkeypatch=monkeypatch)

    assert code == 0
    assert json.loads(out)["unplanned"] == {"cpu": ["cpu", "memory"]}


def test_a_gpu_pool_without_host_sizes_says_cpu_and_memory_are_not_planned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(make_project(tmp_path), "--stack", STACK_NAME, monkeypatch=monkeypatch)

    mixed = next(line for line in out.splitlines() if line.startswith("mixed: "))
    whole = next(line for line in out.splitlines() if line.startswith("whole: "))
    assert code == 0
    assert mixed.endswith("(cpu and memory not planned: no cpuPerNode/memoryGibPerNode)")
    assert "not planned" not in whole  # cpuPerNode and memoryGibPerNode are set


def test_a_plan_that_cannot_fit_minimum_replicas_still_prints_its_table_with_the_failing_rows_marked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = CATALOG.replace("{min: 2, max: 4}", "{min: 9, max: 9}")

    code, out, err = run(make_project(tmp_path, catalog), "--stack", STACK_NAME, monkeypatch=monkeypatch)

    rows = {
        tuple(line.split()[:2]): line.split()[-2:] for line in out.splitlines() if line.startswith("whole ")
    }
    assert code == 2
    assert rows[("whole", "gpu")] == ["✗", "min"]
    assert rows[("whole", "cpu")][-1] == "ok"
    assert (
        "whole: nodes needed 3 (min replicas) / 3 (max replicas) of minNodes 0 .. maxNodes 2 — DOES NOT FIT"
        in out
    )
    assert "node pool 'whole' cannot fit every version at minimum replicas" in err


def test_the_capacity_plan_is_a_stack_export(project_root: Path, prod_render: Render) -> None:
    stack = load_stack_config(project_root, "prod")
    catalog = load_catalog(project_root / stack.catalog, stack).catalog

    assert prod_render.outputs["capacity"] == capacity_plan(catalog, stack)
