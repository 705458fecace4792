"""``modelstack capacity``: the stack's capacity plan — what each pool supplies and what the versions ask."""

from __future__ import annotations

import json
from pathlib import Path

import click
import yaml
from pydantic import ValidationError

from components.catalog.errors import CatalogError, Severity
from components.catalog.stack_config import StackConfig
from components.gpu.capacity import (
    Bound,
    CapacityPlan,
    PodOverhead,
    capacity_findings,
    plan_capacity,
    stack_pods,
)
from components.gpu.capacity_report import nodes_summary, plan_dict, plan_rows
from modelstack.cli.common import project_root, report_errors, stack_option

_HEADERS = (
    "POOL",
    "UNIT",
    "RESOURCE",
    "SUPPLY",
    "DEMAND MIN",
    "DEMAND MAX",
    "UTIL MIN",
    "UTIL MAX",
    "NODES",
    "FIT",
)


def table(plan: CapacityPlan) -> str:
    """Aligned text: one row per pool and resource, then one line per pool with the nodes it needs."""
    rows = [_HEADERS, *plan_rows(plan)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.append("")
    lines += [nodes_summary(pool_plan) for pool_plan in plan.pools]
    return "\n".join(lines)


def _plan_of_failed_catalog(exc: CatalogError, path: Path, config: StackConfig) -> CapacityPlan | None:
    """The plan of a catalog whose only errors are capacity overflows, so the table can show where.

    The schema alone is checked again (the rules found only capacity errors); anything else keeps the
    plain located errors.
    """
    from components.catalog.catalog import Catalog

    try:
        catalog = Catalog.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError):
        return None
    versions = stack_pods(catalog, config)
    overhead = PodOverhead.of(config, catalog.models)
    found = capacity_findings(config, versions, overhead)
    overflows = {f.message for f in found if f.severity is Severity.ERROR}
    if not exc.errors or any(p.message not in overflows for p in exc.errors):
        return None
    return plan_capacity(config, versions, overhead)


@click.command("capacity")
@stack_option
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@report_errors
def command(stack: str, as_json: bool) -> None:
    """Print the capacity plan of a stack: per node pool and resource (whole GPU, MIG profile, CPU,
    memory), the demand of every version at minimum and maximum replicas against the supply at
    maxNodes, utilization and the nodes needed. FIT marks the rows that need more than maxNodes; a pool
    without cpuPerNode/memoryGibPerNode (and no GPUs) is reported as not planned.

    \b
    Exit codes:
      0  plan printed (a pool that fits only at minimum replicas is a warning)
      1  any other failure
      2  invalid catalog or stack configuration, including a plan that cannot fit minimum replicas
         (the table is still printed, its failing rows marked)
    """
    from components.validation.loader import load_catalog, load_stack_config_or_every_error

    root = project_root()
    config = load_stack_config_or_every_error(root, stack)
    path = root / config.catalog
    try:
        loaded = load_catalog(path, config)
    except CatalogError as exc:
        failed = _plan_of_failed_catalog(exc, path, config)
        if failed is not None:
            _print(stack, failed, as_json)
        raise
    for warning in loaded.warnings:
        click.echo(str(warning), err=True)
    overhead = PodOverhead.of(config, loaded.catalog.models)
    plan = plan_capacity(config, stack_pods(loaded.catalog, config), overhead)
    _print(stack, plan, as_json)
    if not as_json and not all(pool_plan.fits(Bound.MAX) for pool_plan in plan.pools):
        click.echo("\nsome pools cannot fit maximum replicas (see the warnings above)", err=True)


def _print(stack: str, plan: CapacityPlan, as_json: bool) -> None:
    if as_json:
        unplanned = {p.pool.name: list(p.unplanned) for p in plan.pools if not p.planned}
        click.echo(json.dumps({"stack": stack, **plan_dict(plan), "unplanned": unplanned}, indent=2))
        return
    click.echo(f"Capacity plan of stack {stack} (supply = per node × maxNodes; NODES = needed at min/max)\n")
    click.echo(table(plan))
