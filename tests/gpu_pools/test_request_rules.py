"""A version's GPU request must suit its node pool, and the pools must hold every version's replicas; each
problem is reported at the exact line of `models.yaml` with a message that says how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.catalog.errors import CatalogError, Problem, Severity
from components.validation.loader import load_catalog, load_stack_config
from tests.foundation.catalog_project import RuleCase
from tests.gpu_pools.project import CATALOG, STACK_NAME, line_of, make_project


def catalog_problems(tmp: Path, catalog: str) -> list[Problem]:
    """Errors and warnings of loading `catalog` with the project's stack."""
    make_project(tmp, catalog)
    stack = load_stack_config(tmp, STACK_NAME)
    try:
        loaded = load_catalog(tmp / "models.yaml", stack)
    except CatalogError as exc:
        return exc.problems
    return list(loaded.warnings)


CASES = [
    RuleCase(
        "GPU request on a CPU pool",
        '{cpu: "1", memory: 2Gi}',
        '{cpu: "1", memory: 2Gi, gpu: 1}',
        "memory: 2Gi, gpu: 1",
        "models.embedder.versions.v1.resources.gpu",
        "node pool 'cpu' is a CPU pool (no gpu); a GPU request needs a GPU node pool — change nodePool or "
        "drop resources.gpu",
    ),
    RuleCase(
        "MIG profile on a whole-GPU pool",
        '{cpu: "8", memory: 64Gi, gpu: 2}',
        '{cpu: "8", memory: 64Gi, gpu: 2, migProfile: 3g.40gb}',
        "migProfile: 3g.40gb",
        "models.llm.versions.v1.resources.migProfile",
        "node pool 'whole' runs whole H100-80GB GPUs (migStrategy none); MIG profile 3g.40gb needs a MIG "
        "pool — drop migProfile or change nodePool",
    ),
    RuleCase(
        "profile the pool's GPU does not have (an H100 profile on an A100-40GB)",
        "migProfile: 3g.20gb",
        "migProfile: 3g.40gb",
        "migProfile: 3g.40gb",
        "models.detector.versions.v1.resources.migProfile",
        "A100-40GB (node pool 'mixed') has no MIG profile '3g.40gb'; did you mean '7g.40gb' or '3g.20gb' or "
        "'4g.20gb'? (profiles: 1g.5gb, 1g.5gb+me, 1g.10gb, 2g.10gb, 3g.20gb, 4g.20gb, 7g.40gb)",
    ),
    RuleCase(
        "profile the pool's layout does not offer",
        "migProfile: 3g.20gb",
        "migProfile: 7g.40gb",
        "migProfile: 7g.40gb",
        "models.detector.versions.v1.resources.migProfile",
        # The layout in sorted profile order: the order the Pulumi CLI passes config keys in.
        "node pool 'mixed' does not offer 7g.40gb: its migLayout is 1× 1g.5gb+me, 1× 2g.10gb, 1× 3g.20gb — "
        "request one of 1g.5gb+me, 2g.10gb, 3g.20gb or add 7g.40gb to the layout",
    ),
    RuleCase(
        "whole-GPU request on a MIG pool",
        "gpu: 1, migProfile: 1g.10gb}",
        "gpu: 1}",
        "memory: 4Gi, gpu: 1}",
        "models.tagger.versions.v1.resources.gpu",
        "node pool 'single' splits its A100-80GB GPUs into MIG instances (single strategy); request one with "
        "resources.migProfile (offered: 1g.10gb) or use a whole-GPU pool",
    ),
    RuleCase(
        "more GPUs per replica than one node has",
        '{cpu: "8", memory: 64Gi, gpu: 2}',
        '{cpu: "8", memory: 64Gi, gpu: 9}',
        "gpu: 9",
        "models.llm.versions.v1.resources.gpu",
        "gpu: 9 is more than one node of pool 'whole' offers (8 whole H100-80GB GPU(s) per node); a replica "
        "cannot span nodes",
    ),
    RuleCase(
        "more CPU per replica than one node has",
        '{cpu: "8", memory: 64Gi, gpu: 2}',
        '{cpu: "200", memory: 64Gi, gpu: 2}',
        'cpu: "200"',
        "models.llm.versions.v1.resources.cpu",
        "cpu 200 plus the Istio sidecar's 0.1 is more than one node of pool 'whole' offers (cpuPerNode 190)",
    ),
    RuleCase(
        "minimum replicas overflow the pool at maxNodes",
        "{min: 2, max: 4}",
        "{min: 9, max: 9}",
        "nodePool: whole",
        "models.llm.versions.v1.nodePool",
        "node pool 'whole' cannot fit every version at minimum replicas: gpu: 18 asked, 16 supplied "
        "(8 per node × 2), 3 nodes needed — maxNodes is 2; raise maxNodes or lower replicas.min",
    ),
    RuleCase(
        "maximum replicas overflow the pool at maxNodes (a warning)",
        "{min: 2, max: 4}",
        "{min: 2, max: 9}",
        "nodePool: whole",
        "models.llm.versions.v1.nodePool",
        "node pool 'whole' cannot fit every version at maximum replicas: gpu: 18 asked, 16 supplied "
        "(8 per node × 2), 3 nodes needed — maxNodes is 2; raise maxNodes or lower replicas.max",
        Severity.WARNING,
    ),
    RuleCase(
        "the overflow is located at the version that overflows, not the pool's first version",
        "gpu: 1, migProfile: 1g.5gb+me}\n        replicas: 1",
        "gpu: 1, migProfile: 1g.5gb+me}\n        replicas: 9",
        "nodePool: mixed",
        "models.decoder.versions.v1.nodePool",
        "node pool 'mixed' cannot fit every version at minimum replicas: 1g.5gb+me: 9 asked, 8 supplied "
        "(4 per node × 2), 3 nodes needed — maxNodes is 2; raise maxNodes or lower replicas.min",
        occurrence=2,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_request_problem_is_reported_at_its_line(tmp_path: Path, case: RuleCase) -> None:
    assert CATALOG.count(case.old) == 1
    catalog = CATALOG.replace(case.old, case.new)

    problems = catalog_problems(tmp_path, catalog)

    assert [(p.line, p.path, p.message, p.severity) for p in problems] == [
        (line_of(catalog, case.line_needle, case.occurrence), case.path, case.message, case.severity)
    ]


def test_the_project_catalog_has_no_problem(tmp_path: Path) -> None:
    assert catalog_problems(tmp_path, CATALOG) == []


def test_an_impossible_profile_stops_the_render_with_the_located_message(tmp_path: Path) -> None:
    from modelstack.engine.render import run_program

    make_project(tmp_path, CATALOG.replace("migProfile: 3g.20gb", "migProfile: 3g.40gb"))

    with pytest.raises(CatalogError) as raised:
        run_program(tmp_path, STACK_NAME)

    assert [f"{p.line}:{p.path}" for p in raised.value.errors] == [
        f"{line_of(CATALOG, 'migProfile: 3g.20gb')}:models.detector.versions.v1.resources.migProfile"
    ]
