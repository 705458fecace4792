"""`modelstack gate MODEL`: decide whether a model's canary moves on, waits or goes back.

Exit codes (for CI pipelines): 0 promote, 10 hold, 11 rollback, 2 invalid input (catalog, stack
configuration, unknown model or version, bad command line; like every modelstack command), 1 any other
error (Prometheus unusable).

Which versions are compared, unless named with --canary/--stable:
- canary: among versions with a weight strictly between 0 and 100, the lowest weight; on a tie the newest,
  i.e. the one listed last in the catalog. A dark-launched canary (weight 0) must be named with --canary.
- stable: the version with the highest weight other than the canary; on a tie the oldest (listed first).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn, Protocol

import click

from components.catalog.analysis import AnalysisSpec
from components.catalog.errors import CatalogError
from modelstack.cli.common import EXIT_INVALID, parse_at, project_root, stack_option
from modelstack.release.gate import (
    EXIT_CODES,
    EXIT_ERROR,
    Decision,
    GateResult,
    PrometheusClient,
    PrometheusError,
    evaluate_gate,
)

# --- what the command needs from the catalog ------------------------------------------------------------
# The command depends on this small protocol only; `load_inputs` adapts the catalog loader to it, so the
# loader's own signature can change without touching the gate.


class VersionLike(Protocol):
    @property
    def weight(self) -> int: ...


class ModelLike(Protocol):
    @property
    def versions(self) -> Mapping[str, VersionLike]: ...
    @property
    def analysis(self) -> AnalysisSpec | None: ...


@dataclass(frozen=True)
class GateInputs:
    models: Mapping[str, ModelLike]
    namespace: str
    catalog_path: Path
    """The catalog that was read (and that --apply rewrites)."""


def load_inputs(catalog: Path | None, stack: str) -> GateInputs:
    """Validate the catalog against the stack's configuration; the namespace comes from the stack."""
    from components.validation.loader import load_stack_and_catalog

    root = project_root()  # like every command: the directory of Pulumi.yaml, or the current one
    config, loaded = load_stack_and_catalog(root, stack, catalog)
    path = catalog if catalog is not None else root / config.catalog
    return GateInputs(models=loaded.catalog.models, namespace=config.namespace, catalog_path=path)


class InvalidInput(click.ClickException):
    """A model, version or weight the catalog does not allow here: invalid input, exit 2."""

    exit_code = EXIT_INVALID


# --- version selection ----------------------------------------------------------------------------------


def pick_canary(versions: Mapping[str, VersionLike]) -> str:
    """The lowest weight strictly between 0 and 100; ties go to the version listed last (the newest)."""
    candidates = [(v.weight, -i, name) for i, (name, v) in enumerate(versions.items()) if 0 < v.weight < 100]
    if not candidates:
        weights = ", ".join(f"{n}={v.weight}" for n, v in versions.items())
        raise InvalidInput(f"no version is a canary (weights {weights}) — name one with --canary")
    return min(candidates)[2]


def pick_stable(versions: Mapping[str, VersionLike], canary: str) -> str:
    """The highest weight other than the canary; ties go to the version listed first (the oldest)."""
    candidates = [(-v.weight, i, name) for i, (name, v) in enumerate(versions.items()) if name != canary]
    if not candidates:
        raise InvalidInput(f"{canary} is the only version — there is no stable version to compare")
    return min(candidates)[2]


# --- output ---------------------------------------------------------------------------------------------


def _report(result: GateResult) -> str:
    head = f"{result.decision.value.upper()} {result.model}: canary {result.canary} vs stable {result.stable}"
    if result.decision is Decision.PROMOTE:
        head += f", weight {result.current_weight} → {result.next_weight}"
    lines = [head, f"  why: {result.reason}"]
    for c in result.checks:
        value = "no data" if c.value is None else f"{c.value:.4g}"
        lines.append(f"  {c.status.value:<12} {c.name:<20} {value:>10}  {c.reason}")
    return "\n".join(lines)


def _apply(catalog: Path, result: GateResult) -> str | None:
    if result.decision is Decision.HOLD or result.next_weight is None:
        return None
    # `modelstack.release.edits.set_weight` (the release work) rewrites the canary's weight in models.yaml and
    # rebalances the others; imported by name because only --apply needs it.
    release = importlib.import_module("modelstack.release.edits")
    release.set_weight(catalog, result.model, result.canary, result.next_weight)
    change = f"weight {result.current_weight} → {result.next_weight}"
    return f"applied: {result.model}/{result.canary} {change} in {catalog}"


# --- the command ----------------------------------------------------------------------------------------


@click.command("gate")
@click.argument("model")
@click.option("--prometheus", "prometheus_url", required=True, metavar="URL", help="Prometheus base URL.")
@stack_option
@click.option(
    "--catalog",
    default=None,
    type=click.Path(path_type=Path),
    help="Model catalog (default: the stack's modelstack:catalog, i.e. models.yaml).",
)
@click.option("--canary", default=None, metavar="VERSION", help="Canary version (default: see below).")
@click.option("--stable", default=None, metavar="VERSION", help="Stable version (default: see below).")
@click.option(
    "--at", "at_text", default=None, metavar="RFC3339", help="Evaluate at this time instead of now."
)
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@click.option("--apply", "apply_", is_flag=True, help="Write the new canary weight into the catalog.")
@click.pass_context
def command(
    ctx: click.Context,
    *,
    model: str,
    prometheus_url: str,
    stack: str,
    catalog: Path | None,
    canary: str | None,
    stable: str | None,
    at_text: str | None,
    as_json: bool,
    apply_: bool,
) -> None:
    """Promote, hold or roll back MODEL's canary from Prometheus metrics.

    \b
    Exit codes:
      0   promote (to the next weight step)
      10  hold (too few requests, no data or NaN)
      11  rollback (a threshold was breached)
      2   invalid input: catalog or stack configuration, unknown model or version, usage error
      1   any other error (Prometheus unreachable or unusable)

    The canary is the version with the lowest weight between 0 and 100 (on a tie, the newest, listed
    last); the stable version has the highest weight (on a tie, the oldest).
    """
    at = parse_at(at_text)
    try:
        inputs = load_inputs(catalog, stack)
    except CatalogError as err:
        _invalid(ctx, err)
    try:
        prometheus = PrometheusClient(prometheus_url)
        result = _evaluate(inputs, model=model, canary=canary, stable=stable, prometheus=prometheus, at=at)
    except (PrometheusError, ValueError, OSError) as err:
        _fail(ctx, err)
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else _report(result))
    if apply_:
        try:
            applied = _apply(inputs.catalog_path, result)
        except CatalogError as err:
            _invalid(ctx, err)
        except (ValueError, OSError, ImportError) as err:
            _fail(ctx, err)
        if applied:
            click.echo(applied, err=as_json)  # keeps stdout pure JSON with --json
    ctx.exit(EXIT_CODES[result.decision])


def _fail(ctx: click.Context, err: Exception) -> NoReturn:
    click.echo(f"error: {err}", err=True)
    ctx.exit(EXIT_ERROR)


def _invalid(ctx: click.Context, err: CatalogError) -> NoReturn:
    """Located messages and exit 2, as report_errors prints them for every other command."""
    for problem in err.problems:
        click.echo(str(problem), err=True)
    click.echo(f"{len(err.errors)} error(s); nothing was changed.", err=True)
    ctx.exit(EXIT_INVALID)


def _evaluate(
    inputs: GateInputs,
    *,
    model: str,
    canary: str | None,
    stable: str | None,
    prometheus: PrometheusClient,
    at: datetime | None,
) -> GateResult:
    spec = inputs.models.get(model)
    if spec is None:
        raise InvalidInput(f"model {model!r} is not in the catalog (models: {', '.join(inputs.models)})")
    for name in (canary, stable):
        if name is not None and name not in spec.versions:
            raise InvalidInput(f"{model} has no version {name!r} (versions: {', '.join(spec.versions)})")
    canary = canary or pick_canary(spec.versions)
    stable = stable or pick_stable(spec.versions, canary)
    if canary == stable:
        raise InvalidInput("--canary and --stable name the same version")
    # No analysis block: the defaults (800 ms P99, 1 % errors, 50 requests, steps 10/50/100) apply.
    analysis = spec.analysis or AnalysisSpec()
    weight = spec.versions[canary].weight
    return evaluate_gate(model, analysis, canary, stable, weight, inputs.namespace, prometheus, at=at)
