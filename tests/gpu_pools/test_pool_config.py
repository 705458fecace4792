"""Node pools are checked against the GPU catalog when the stack configuration loads, and every problem is
reported at its line of `Pulumi.<stack>.yaml`."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.catalog.errors import CatalogError, Problem
from components.validation.loader import load_stack_config
from tests.foundation.catalog_project import RuleCase
from tests.gpu_pools.project import STACK, STACK_NAME, line_of, make_project


def stack_problems(tmp: Path, stack: str) -> list[Problem]:
    make_project(tmp, stack=stack)
    try:
        load_stack_config(tmp, STACK_NAME)
    except CatalogError as exc:
        return exc.problems
    return []


CASES = [
    RuleCase(
        "unknown GPU key, with did-you-mean",
        "gpu: H100-80GB",
        "gpu: H100-80G",
        "gpu: H100-80G",
        "modelstack:nodePools[0].gpu",
        "unknown GPU 'H100-80G'; did you mean 'H100-80GB' or 'A100-80GB' or 'H100-96GB'? (known: A30-24GB, "
        "A100-40GB, A100-80GB, H100-80GB, H100-94GB, H100-96GB, H200-141GB, GH200-144GB, B200-180GB, GB200, "
        "L4, L40S, T4)",
    ),
    RuleCase(
        "MIG strategy on a GPU without MIG",
        "gpu: A100-40GB",
        "gpu: L4",
        "migStrategy: mixed",
        "modelstack:nodePools[1].migStrategy",
        "L4 does not support MIG — use migStrategy none (whole GPUs, nvidia.com/gpu) or a MIG-capable GPU",
    ),
    RuleCase(
        "layout that does not fit the GPU's memory slices",
        "migLayout: {3g.20gb: 1, 2g.10gb: 1, 1g.5gb+me: 1}",
        "migLayout: {3g.20gb: 2, 1g.5gb: 1}",
        "migLayout: {3g.20gb: 2",
        "modelstack:nodePools[1].migLayout",
        "node pool 'mixed': migLayout does not fit one A100-40GB: 2× 3g.20gb + 1× 1g.5gb needs 9 memory "
        "slices; A100-40GB has 8",
    ),
    RuleCase(
        "more instances of a profile than one GPU allows",
        "migLayout: {3g.20gb: 1, 2g.10gb: 1, 1g.5gb+me: 1}",
        "migLayout: {3g.20gb: 3}",
        "migLayout: {3g.20gb: 3}",
        "modelstack:nodePools[1].migLayout",
        "node pool 'mixed': migLayout does not fit one A100-40GB: 3× 3g.20gb is more than A100-40GB allows "
        "(2 per GPU)",
    ),
    RuleCase(
        "profile the GPU does not have",
        "migLayout: {3g.20gb: 1, 2g.10gb: 1, 1g.5gb+me: 1}",
        "migLayout: {3g.40gb: 1}",
        "migLayout: {3g.40gb: 1}",
        "modelstack:nodePools[1].migLayout",
        "node pool 'mixed': migLayout does not fit one A100-40GB: A100-40GB has no MIG profile '3g.40gb'; "
        "did you mean '7g.40gb' or '3g.20gb' or '4g.20gb'? (profiles: 1g.5gb, 1g.5gb+me, 1g.10gb, 2g.10gb, 3g.20gb, "
        "4g.20gb, 7g.40gb)",
    ),
    RuleCase(
        "single strategy with more than one profile",
        "migLayout: {1g.10gb: 7}",
        "migLayout: {1g.10gb: 5, 2g.20gb: 1}",
        "migLayout: {1g.10gb: 5",
        "modelstack:nodePools[2].migLayout",
        "node pool 'single': 5× 1g.10gb + 1× 2g.20gb: the single MIG strategy needs one uniform profile per "
        "node; the layout mixes 1g.10gb, 2g.20gb (use the mixed strategy)",
    ),
    RuleCase(
        "MIG strategy with no instance at all",
        "migLayout: {1g.10gb: 7}",
        "migLayout: {1g.10gb: 0}",
        "migLayout: {1g.10gb: 0}",
        "modelstack:nodePools[2].migLayout",
        "node pool 'single': an empty layout: the single MIG strategy needs at least one MIG instance per "
        "GPU; the layout has none",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_pool_problem_is_reported_at_its_line(tmp_path: Path, case: RuleCase) -> None:
    assert STACK.count(case.old) == 1
    stack = STACK.replace(case.old, case.new)

    problems = stack_problems(tmp_path, stack)

    assert [(p.file.endswith(f"Pulumi.{STACK_NAME}.yaml"), p.line, p.path, p.message) for p in problems] == [
        (True, line_of(stack, case.line_needle), case.path, case.message)
    ]


def test_the_projects_stack_with_every_kind_of_pool_is_valid(tmp_path: Path) -> None:
    assert stack_problems(tmp_path, STACK) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_repository_stacks_are_valid(project_root: Path, stack: str) -> None:
    config = load_stack_config(project_root, stack)

    assert any(pool.gpu for pool in config.node_pools)
