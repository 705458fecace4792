"""``modelstack gpus``: show the local GPUs as NVML sees them, optionally checked against the catalog."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
import yaml

from components.gpu.nvml import NvmlUnavailableError, compare_with_catalog, read_inventory

EXIT_OK = 0
EXIT_CATALOG_DIFFERS = 1
EXIT_NO_GPU = 3

_HELP = f"""Print the local GPUs, their MIG mode and MIG profiles as NVML reports them.

Read-only: never changes MIG mode or any GPU setting.

\b
Exit codes:
  {EXIT_OK}  inventory printed (and, with --check, it matches the catalog)
  {EXIT_CATALOG_DIFFERS}  --check found differences from the built-in GPU catalog
  2  usage error
  {EXIT_NO_GPU}  NVML is not usable here (no library, no driver or no GPU)
"""


def _render(document: dict[str, Any], output_format: str) -> str:
    if output_format == "json":
        return json.dumps(document, indent=2)
    return yaml.safe_dump(document, sort_keys=False)


@click.command("gpus", help=_HELP)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="Output format.",
)
@click.option("--check", is_flag=True, help="Compare with the built-in GPU catalog; exit 1 on differences.")
def command(output_format: str, check: bool) -> None:
    try:
        inventory = read_inventory()
    except NvmlUnavailableError as error:
        click.echo(f"modelstack gpus: {error}", err=True)
        sys.exit(EXIT_NO_GPU)
    document = inventory.as_dict()
    differences = compare_with_catalog(inventory) if check else []
    if check:
        document["catalog_differences"] = differences
    click.echo(_render(document, output_format).rstrip("\n"))
    if differences:
        summary = f"modelstack gpus: {len(differences)} difference(s) from the built-in GPU catalog"
        click.echo(summary, err=True)
        sys.exit(EXIT_CATALOG_DIFFERS)
