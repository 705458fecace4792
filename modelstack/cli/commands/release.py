"""`modelstack promote | rollback | retire`: release steps as edits of `models.yaml`, each shown as a preview.

Each command computes the edited catalog, validates it for the stack, renders the stack before and after,
prints the plan between the two renders, and only then writes the catalog. `--dry-run` prints the preview
without writing.

Exit codes: 0 done (or nothing to change), 2 refused (unknown model or version, weights that would be
invalid, an invalid catalog or stack configuration; nothing is written), 1 any other failure.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import click

from components.validation.loader import CONFIG_NAMESPACE, load_stack_config, stack_config_values
from modelstack.cli.common import project_root, report_errors, stack_option
from modelstack.engine import plan_format
from modelstack.engine.diff import Plan, plan, read_render, read_weights
from modelstack.engine.render import render_stack
from modelstack.release.edits import (
    Edit,
    ReleaseError,
    candidate_file,
    plan_retire,
    plan_rollback,
    plan_weight,
    validate_text,
    write_atomically,
)

EXIT_INVALID = 2
_STACK_FILE = "Pulumi.{stack}.yaml"


def _project_view(root: Path, stack: str, catalog: Path, into: Path) -> Path:
    """`root` as the program sees it, but with the stack's catalog at `catalog`.

    Every entry of the project is linked, except the stack file, rewritten with `modelstack:catalog` set to
    the absolute path: the program resolves `root / catalog`, and an absolute path wins.
    """
    into.mkdir(parents=True)
    stack_file = _STACK_FILE.format(stack=stack)
    for entry in root.iterdir():
        if entry.name != stack_file:
            (into / entry.name).symlink_to(entry.resolve())
    values, _ = stack_config_values(root, stack)
    config = {f"{CONFIG_NAMESPACE}:{k}": v for k, v in values.items()}
    config[f"{CONFIG_NAMESPACE}:catalog"] = str(catalog.resolve())
    # JSON is YAML: no dumper needed, and the values keep their types.
    (into / stack_file).write_text(json.dumps({"config": config}, indent=2), encoding="utf-8")
    return into


def render_with_catalog(root: Path, stack: str, catalog: Path, work: Path) -> Path:
    view = _project_view(root, stack, catalog, work / "project")
    out = work / "render"
    render_stack(view, stack, out)
    return out


def preview_edit(root: Path, stack: str, catalog: Path, edit: Edit) -> Plan:
    """The plan from the catalog as it is to the catalog as `edit` leaves it (the catalog is not written)."""
    with (
        tempfile.TemporaryDirectory(prefix="modelstack-release-") as tmp,
        candidate_file(catalog, edit.text) as edited,
    ):
        work = Path(tmp)
        before = render_with_catalog(root, stack, catalog, work / "before")
        after = render_with_catalog(root, stack, edited, work / "after")
        return plan(read_render(before), read_render(after), read_weights(before), read_weights(after))


def run_release_step(
    stack: str, catalog: Path | None, dry_run: bool, make_edit: Callable[[str], Edit]
) -> None:
    """Edit, validate, preview, write. A refused edit prints why and exits 2 with nothing written."""
    root = project_root()
    config = load_stack_config(root, stack)
    path = catalog if catalog is not None else root / config.catalog
    try:
        edit = make_edit(path.read_text(encoding="utf-8"))
        if edit.before != edit.after:
            validate_text(edit.text, path, [config])
    except ReleaseError as error:
        click.echo(f"refused: {error}", err=True)
        raise SystemExit(EXIT_INVALID) from None
    click.echo(edit.summary)
    if edit.before == edit.after:
        click.echo("nothing to change; the catalog was left as it is")
        return
    result = preview_edit(root, stack, path, edit)
    if not dry_run:
        write_atomically(path, edit.text)
    verb = "would write" if dry_run else "wrote"
    click.echo(plan_format.as_text(result, f"Preview of stack {stack} ({verb} {path})"))


_catalog_option = click.option(
    "--catalog",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Catalog to edit (default: the stack's catalog, models.yaml).",
)
_dry_run_option = click.option("--dry-run", is_flag=True, help="Show the preview; do not write the catalog.")


@click.command("promote")
@click.argument("model")
@click.argument("version")
@click.option("--weight", type=click.IntRange(0, 100), required=True, help="New weight of VERSION (0–100).")
@_catalog_option
@stack_option
@_dry_run_option
@report_errors
def promote(
    *, model: str, version: str, weight: int, catalog: Path | None, stack: str, dry_run: bool
) -> None:
    """Give VERSION of MODEL --weight percent; the other versions share the rest in proportion.

    \b
    Exit codes:
      0  written (or, with --dry-run, previewed; or nothing to change)
      1  any other failure
      2  refused (unknown model or version, weights that would be invalid), an invalid catalog or stack
         configuration, or a usage error; nothing is written
    """
    run_release_step(stack, catalog, dry_run, lambda text: plan_weight(text, model, version, weight))


@click.command("rollback")
@click.argument("model")
@click.option(
    "--to", "to", default=None, metavar="VERSION", help="Version to give 100 % (default: see below)."
)
@_catalog_option
@stack_option
@_dry_run_option
@report_errors
def rollback(*, model: str, to: str | None, catalog: Path | None, stack: str, dry_run: bool) -> None:
    """Send all of MODEL's traffic back to its previous version.

    The previous version is the one with the highest weight among all but the newest (the version listed
    last); on a tie, the oldest. Name another with --to.

    \b
    Exit codes:
      0  written (or, with --dry-run, previewed; or nothing to change)
      1  any other failure
      2  refused (nothing to roll back to, unknown version), an invalid catalog or stack configuration,
         or a usage error; nothing is written
    """
    run_release_step(stack, catalog, dry_run, lambda text: plan_rollback(text, model, to))


@click.command("retire")
@click.argument("model")
@click.argument("version")
@_catalog_option
@stack_option
@_dry_run_option
@report_errors
def retire(*, model: str, version: str, catalog: Path | None, stack: str, dry_run: bool) -> None:
    """Remove VERSION of MODEL from the catalog; only a version at weight 0, never the last one.

    \b
    Exit codes:
      0  written (or, with --dry-run, previewed)
      1  any other failure
      2  refused (weight above 0, the last version, the mirror target), an invalid catalog or stack
         configuration, or a usage error; nothing is written
    """
    run_release_step(stack, catalog, dry_run, lambda text: plan_retire(text, model, version))


COMMANDS: tuple[click.Command, ...] = (promote, rollback, retire)
