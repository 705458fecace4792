"""`modelstack check`: the policy pack's guardrails over an offline render, no Pulumi CLI needed.

Exit codes: 0 no mandatory violation (advisory ones are printed), 1 at least one mandatory violation
(or any other failure), 2 invalid catalog or stack configuration.
"""

from __future__ import annotations

from pathlib import Path

import click

from modelstack.cli.common import EXIT_FAILURE, project_root, report_errors, stack_option
from modelstack.engine.check import check_manifests, load_policies, read_manifests


@click.command("check")
@stack_option
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=None,
    help="Check the manifests under this directory (e.g. a render) instead of rendering the stack.",
)
@report_errors
def command(stack: str, directory: Path | None) -> None:
    """Run the policy pack (policy/) over the stack's offline render and print every violation.

    \b
    Exit codes:
      0  no mandatory violation (advisory ones are printed)
      1  at least one mandatory violation, or any other failure
      2  invalid catalog or stack configuration, or a usage error
    """
    root = project_root()
    if directory is not None:
        manifests = read_manifests(directory)
        source = str(directory)
    else:
        from modelstack.engine.render import run_program

        manifests = run_program(root, stack).manifests
        source = f"stack {stack}"
    violations = check_manifests(manifests, load_policies(root))
    for violation in violations:
        click.echo(str(violation))
    mandatory = sum(v.mandatory for v in violations)
    click.echo(
        f"{source}: {len(manifests)} objects, {mandatory} mandatory and "
        f"{len(violations) - mandatory} advisory violation(s)"
    )
    if mandatory:
        raise SystemExit(EXIT_FAILURE)
