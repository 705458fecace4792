"""The `modelstack` command line: validate, render and preview stacks offline, and run releases.

Exit codes, the same for every command: 0 success, 2 invalid input (catalog or stack configuration, a
released version that would change, a refused release edit, a bad command line; nothing is written), 1 any
other failure. Commands with more outcomes add their own (check: 1 for a mandatory violation; gate: 10
hold, 11 rollback; gpus: 3 without NVML); each lists its codes in `--help`.

The package owns the command line only: parsing options, calling the engine (`modelstack.engine`) and
the release tooling (`modelstack.release`), printing their results. It may import those two and
`components`; nothing imports it. The group and the three core commands live here, the other commands in
`commands/` (each a click command named `command`), and what they share in `common`.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from components.catalog.errors import CatalogError
from modelstack.cli.common import (
    EXIT_FAILURE,
    EXIT_INVALID,
    no_cache_option,
    project_root,
    report_errors,
    stack_option,
)

LAZY_COMMANDS: dict[str, str] = {
    "gate": "modelstack.cli.commands.gate",
    "gpus": "modelstack.cli.commands.gpus",
    "check": "modelstack.cli.commands.check",
    "capacity": "modelstack.cli.commands.capacity",
    "promote": "modelstack.cli.commands.release",
    "rollback": "modelstack.cli.commands.release",
    "retire": "modelstack.cli.commands.release",
    "stacks": "modelstack.cli.commands.stacks",
    "release": "modelstack.cli.commands.release_loop",
}
"""The commands of `commands/` by name and module, imported only when run (or listed by --help): their
imports (the SDK, the capacity planner) cost every command about a second otherwise."""


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            import importlib

            module = importlib.import_module(LAZY_COMMANDS[cmd_name])
            for command in getattr(module, "COMMANDS", None) or (module.command,):
                self.add_command(command)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """modelstack: immutable GPU model-serving stacks from a reviewed catalog.

    Every command reads Pulumi.<stack>.yaml (--stack, default dev) from the project directory: the
    nearest one holding Pulumi.yaml. Exit codes: 0 success, 2 invalid input, 1 other failure; see each
    command's --help for the codes it adds.
    """


@cli.command()
@stack_option
@report_errors
def validate(stack: str) -> None:
    """Validate the stack configuration and the catalog (no Pulumi, no rendering).

    \b
    Exit codes:
      0  valid (warnings, if any, on stderr)
      1  any other failure
      2  invalid catalog or stack configuration (located messages on stderr), or a usage error
    """
    from components.validation.loader import load_stack_and_catalog

    root = project_root()
    config, loaded = load_stack_and_catalog(root, stack)
    for warning in loaded.warnings:
        click.echo(str(warning), err=True)
    versions = sum(len(m.versions) for m in loaded.catalog.models.values())
    click.echo(
        f"{config.catalog}: {len(loaded.catalog.models)} models, {versions} versions — valid for stack {stack}"
    )


@cli.command()
@stack_option
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output directory (default rendered/<stack>).",
)
@click.option(
    "--bundle",
    "bundle",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the render as one JSON file instead of a directory: every object's YAML text (the same "
    "bytes), the outputs and the lock. What `preview --base` reads from the base revision.",
)
@click.option(
    "--by-reference",
    "by_reference",
    is_flag=True,
    help="With --bundle: name each cached model's objects by their render-cache entry instead of copying "
    "them. Readable only beside the same cache: what `preview --base` asks of the base revision.",
)
@no_cache_option
@report_errors
def render(stack: str, out: Path | None, bundle: Path | None, by_reference: bool, no_cache: bool) -> None:
    """Run the program under Pulumi's mock runtime and write one YAML file per Kubernetes object, plus
    outputs.json and versions.lock.json.

    Each model's objects are kept in the render cache (see --no-cache): a model whose catalog entry, the
    stack configuration and the code are unchanged is not run again, and the misses of a large catalog
    are rendered in parallel processes. The files written are the same either way.

    \b
    Exit codes:
      0  rendered
      1  any other failure
      2  invalid catalog or stack configuration, or an --out that is not empty and not a previous
         render, or a --bundle path that is another file (nothing is written), or a usage error
    """
    from modelstack.engine.render_dir import previous_render

    root = project_root()
    if by_reference and bundle is None:
        raise click.UsageError("--by-reference needs --bundle")
    if bundle is not None:
        if out is not None:
            raise click.UsageError("give --out or --bundle, not both")
        from modelstack.engine.render_bundle import BundleError, bundle_stack
        from modelstack.engine.render_cache import RenderCache

        try:
            count = bundle_stack(
                root,
                stack,
                Path(os.path.abspath(bundle)),
                None if no_cache else RenderCache(),
                by_reference=by_reference,
            )
        except BundleError as exc:
            click.echo(f"error: --bundle: {exc}", err=True)
            raise SystemExit(EXIT_INVALID) from None
        click.echo(f"rendered {count} objects of stack {stack} to {bundle}")
        return
    target = out or root / "rendered" / stack
    previous_render(Path(os.path.abspath(target)))  # refused before the program runs: nothing is written
    if no_cache:
        from modelstack.engine.render import render_stack

        count = len(render_stack(root, stack, target).manifests)
    else:
        from modelstack.engine.incremental import render_stack_cached
        from modelstack.engine.render_cache import RenderCache

        count = render_stack_cached(root, stack, target, RenderCache())
    click.echo(f"rendered {count} objects of stack {stack} to {target}")


@cli.command()
@stack_option
@click.option(
    "--base", "base_ref", default=None, help="Git revision to compare with (rendered with its own code)."
)
@click.option(
    "--base-dir",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=None,
    help="A directory rendered before, to compare with.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--markdown",
    is_flag=True,
    help="Print the plan as Markdown (the pull-request comment): also the warnings, refused release "
    "changes and, for an invalid catalog, its errors.",
)
@no_cache_option
@report_errors
def preview(
    *, stack: str, base_ref: str | None, base_dir: Path | None, as_json: bool, markdown: bool, no_cache: bool
) -> None:
    """Print the plan between a base and the working tree: per model the traffic split, then every object
    to create, update (each changed field), replace or delete.

    The head comes from the render cache (see --no-cache): only models whose key changed are run again,
    and objects are compared with the base by the digest of their text, so only changed ones are read.
    The plan is the same either way.

    \b
    Exit codes:
      0  plan printed
      1  the base could not be rendered, or another failure
      2  invalid catalog or stack configuration, a released version would change, or a usage error
    """
    from modelstack.engine import plan_format
    from modelstack.engine.preview import BaseRenderError
    from modelstack.engine.preview import preview as run_preview
    from modelstack.engine.render_cache import RenderCache
    from modelstack.release.immutability import released_versions_guard

    if base_ref and base_dir:
        raise click.UsageError("give --base or --base-dir, not both")
    if as_json and markdown:
        raise click.UsageError("give --json or --markdown, not both")
    root = project_root()
    title = f"Preview of stack {stack} against {base_ref or base_dir or 'nothing (everything is new)'}"
    with tempfile.TemporaryDirectory(prefix="modelstack-preview-") as work:
        try:
            guard = released_versions_guard(root, stack)
            cache = None if no_cache else RenderCache()
            result = run_preview(root, stack, base_ref, base_dir, Path(work), guard=guard, cache=cache)
        except CatalogError as exc:
            if markdown:
                problems = [str(p) for p in exc.problems]
                click.echo(plan_format.invalid_markdown(title, problems, len(exc.errors)))
            raise
        except BaseRenderError as exc:
            if markdown:
                click.echo(plan_format.failed_markdown(title, str(exc)))
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(EXIT_FAILURE) from None
    warnings = [str(w) for w in result.warnings]
    findings = [str(f) for f in result.findings]
    if markdown:
        click.echo(plan_format.as_markdown(result.plan, title, warnings=warnings, findings=findings))
    elif not result.findings:
        click.echo(
            plan_format.as_json(result.plan, warnings) if as_json else plan_format.as_text(result.plan, title)
        )
    if result.findings:
        # A released version never changes: refused (exit 2); the plan is printed only in the PR comment.
        raise CatalogError(list(result.findings))


def _register_optional_commands() -> None:
    from modelstack.cli.commands import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)


def main() -> None:
    from modelstack.engine.process_policy import one_shot_process

    one_shot_process()
    try:
        cli.main(prog_name="modelstack", standalone_mode=True)
    finally:
        # The mock runtime leaves an event loop behind whose finalizer prints noise at exit.
        sys.stdout.flush()
        sys.stderr.flush()


__all__ = ["EXIT_FAILURE", "EXIT_INVALID", "cli", "main", "project_root", "report_errors", "stack_option"]
