"""`modelstack stacks`: the project's stacks, the models each owns, and which ones a change touches.

The workflows build their job matrices from `--json` (docs/sharding.md): the pull request previews the
touched stacks in parallel, the deploy ups them wave by wave (bases before their shards).
"""

from __future__ import annotations

import json

import click

from components.catalog.errors import CatalogError
from modelstack.cli.common import EXIT_FAILURE, project_root, report_errors
from modelstack.engine.stacks import ChangeError, StackInfo, all_stacks, changed_stacks, waves


def _table(stacks: list[StackInfo]) -> str:
    lines = []
    for info in stacks:
        owner = f" on {info.base}" if info.base else ""
        models = ", ".join(info.models) if info.models else "no model"
        why = f" — {'; '.join(info.reasons)}" if info.reasons else ""
        lines.append(f"wave {info.wave}  {info.stack} ({info.role}{owner}, {info.target}): {models}{why}")
    return "\n".join(lines) if lines else "no stack"


@click.command("stacks")
@click.option(
    "--changed-since",
    "ref",
    default=None,
    help="Git revision: list only the stacks whose inputs differ between it and the working tree.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {stacks: [...], waves: [[...], ...]}.")
@report_errors
def command(ref: str | None, as_json: bool) -> None:
    """List every stack (Pulumi.<stack>.yaml) in deploy order with its role, base, target and the models
    it owns; with --changed-since, only the stacks a change touches, and why.

    \b
    Exit codes:
      0  listed
      1  the revision cannot be read, or another failure
      2  a model moves between shards without being handed over first (nothing listed), or a usage error
    """
    root = project_root()
    if ref is None:
        stacks = all_stacks(root)
    else:
        try:
            changes = changed_stacks(root, ref)
        except ChangeError as exc:
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(EXIT_FAILURE) from None
        if changes.problems:
            raise CatalogError(changes.problems)
        stacks = changes.stacks
    if as_json:
        click.echo(json.dumps({"stacks": [s.as_json() for s in stacks], "waves": waves(stacks)}))
    else:
        click.echo(_table(stacks))
