"""``modelstack capacity``: the stack's capacity plan — what each pool supplies and what the versions ask."""

from __future__ import annotations

import json

import click

from components.gpu.capacity import (
    Bound,
    CapacityPlan,
    catalog_versions,
    nodes_summary,
    plan_capacity,
    plan_dict,
    plan_rows,
)
from modelstack.cli.common import project_root, report_errors, stack_option

_HEADERS = ("POOL", "UNIT", "RESOURCE", "SUPPLY", "DEMAND MIN", "DEMAND MAX", "UTIL MIN", "UTIL MAX", "NODES")


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


@click.command("capacity")
@stack_option
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@report_errors
def command(stack: str, as_json: bool) -> None:
    """Print the capacity plan of a stack: per node pool and resource (whole GPU, MIG profile, CPU,
    memory), the demand of every version at minimum and maximum replicas against the supply at
    maxNodes, utilization and the nodes needed.

    Exits 2 when the stack or catalog is invalid, including a plan that cannot fit minimum replicas.
    """
    from components.validation.loader import load_catalog, load_stack_config

    root = project_root()
    config = load_stack_config(root, stack)
    loaded = load_catalog(root / config.catalog, config)
    for warning in loaded.warnings:
        click.echo(str(warning), err=True)
    plan = plan_capacity(config, catalog_versions(loaded.catalog))
    if as_json:
        click.echo(json.dumps({"stack": stack, **plan_dict(plan)}, indent=2))
        return
    click.echo(f"Capacity plan of stack {stack} (supply = per node × maxNodes; NODES = needed at min/max)\n")
    click.echo(table(plan))
    if not all(pool_plan.fits(Bound.MAX) for pool_plan in plan.pools):
        click.echo("\nsome pools cannot fit maximum replicas (see the warnings above)", err=True)
