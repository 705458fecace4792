"""`modelstack release run | evaluate`: the automated canary loop, and the golden-set evaluator it reads.

`release run MODEL --stack S` makes one evaluation and acts on it (see `modelstack.release.loop`); run it
on a schedule. Exit codes: 0 the decision was carried out (promote, rollback, hold, done, stopped — or
printed with --dry-run), 1 it could not be (the apply failed and was reverted, Prometheus or git
failed in a way that leaves nothing to decide), 2 invalid input (catalog, stack, model, uncommitted
catalog, bad option; nothing written).
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import click

from modelstack.cli.common import (
    EXIT_FAILURE,
    EXIT_INVALID,
    parse_at,
    project_root,
    report_errors,
    stack_option,
)


@click.group("release")
def group() -> None:
    """The automated release loop: each step a commit, applied with `pulumi up`, undone by reverting."""


@group.command("list")
@stack_option
@report_errors
def list_canaries(*, stack: str) -> None:
    """Print the models with a canary in progress that the loop runs for, one per line.

    A canary is in progress when a version other than the stable one has a weight between 0 and 100 and
    is not in failedCanaries; models with `analysis.loop: false` are left out.

    \b
    Exit codes:
      0  listed (possibly nothing)
      1  any other failure
      2  invalid catalog or stack configuration, or a usage error
    """
    from components.catalog.analysis import AnalysisSpec
    from components.validation.loader import load_stack_and_catalog
    from modelstack.release.loop import pick_canary

    _, loaded = load_stack_and_catalog(project_root(), stack)
    for name, spec in loaded.catalog.models.items():
        if (spec.analysis or AnalysisSpec()).loop and pick_canary(spec) is not None:
            click.echo(name)


@group.command("run")
@click.argument("model")
@stack_option
@click.option(
    "--prometheus",
    "prometheus_url",
    default=None,
    metavar="URL",
    help="Prometheus base URL (default: the stack's release.prometheus).",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the decision and the commit it would make; change nothing."
)
@click.option(
    "--engine",
    type=click.Choice(["automation", "offline"]),
    default="automation",
    show_default=True,
    help="Apply with `pulumi up` through the Automation API, or render with the offline engine.",
)
@click.option(
    "--pulumi-stack",
    default=None,
    metavar="NAME",
    help="Pulumi stack to update (default: --stack), e.g. org/modelstack/prod.",
)
@click.option(
    "--pulumi",
    "pulumi_binary",
    default=None,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The pulumi CLI (default: on PATH).",
)
@click.option(
    "--policy-pack",
    "policy_packs",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Policy pack `pulumi up` enforces (automation engine; repeatable), e.g. policy.",
)
@click.option(
    "--at",
    "at_text",
    default=None,
    metavar="RFC3339",
    help="Evaluate at this time (and date the commit so); default now.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@report_errors
def run(
    *,
    model: str,
    stack: str,
    prometheus_url: str | None,
    dry_run: bool,
    engine: str,
    pulumi_stack: str | None,
    pulumi_binary: Path | None,
    policy_packs: tuple[Path, ...],
    at_text: str | None,
    as_json: bool,
) -> None:
    """Evaluate MODEL's canary once and promote, hold, roll back or report done.

    \b
    Exit codes:
      0  decided and carried out (or printed, with --dry-run)
      1  the stack update failed (the loop's commit was reverted), or another failure
      2  invalid input: catalog, stack, unknown model, uncommitted catalog, usage; nothing written
    """
    from components.validation.loader import load_stack_and_catalog
    from modelstack.release.apply import Applier, AutomationApply, OfflineApply
    from modelstack.release.edits import ReleaseError
    from modelstack.release.gate import PrometheusClient
    from modelstack.release.loop import Loop
    from modelstack.release.notify import Webhook, notifier_for

    at = parse_at(at_text)
    root = project_root()
    config, loaded = load_stack_and_catalog(root, stack)
    url = prometheus_url or config.release.prometheus
    if url is None:
        raise click.UsageError(
            f"no Prometheus: give --prometheus or set modelstack:release.prometheus in Pulumi.{stack}.yaml"
        )
    applier: Applier = (
        OfflineApply()
        if engine == "offline"
        else AutomationApply(
            stack_name=pulumi_stack,
            pulumi=pulumi_binary,
            env=_engine_env(),
            policy_packs=tuple(str(p.resolve()) for p in policy_packs),
        )
    )
    loop = Loop(
        root=root,
        stack=stack,
        config=config,
        catalog=root / config.catalog,
        models=loaded.catalog.models,
        prometheus=PrometheusClient(url),
        applier=applier,
        notifier=notifier_for(Webhook(h.url, h.format) for h in config.release.webhooks),
        clock=(lambda: at) if at is not None else _now,
        date_commits=at is not None,
    )
    try:
        outcome = loop.run(model, dry_run=dry_run)
    except ReleaseError as err:
        click.echo(f"refused: {err}", err=True)
        raise SystemExit(EXIT_INVALID) from None
    if as_json:
        click.echo(json.dumps({**outcome.to_dict(), "commitMessage": outcome.message}, indent=2))
    else:
        click.echo(_report(outcome))
    if outcome.failed:
        raise SystemExit(EXIT_FAILURE)


def _targets(values: tuple[str, ...]) -> dict[str, str]:
    targets: dict[str, str] = {}
    for value in values:
        version, sep, url = value.partition("=")
        if not sep or not version or not url.startswith(("http://", "https://")):
            raise click.BadParameter(f"{value!r} is not VERSION=http(s)://HOST:PORT", param_hint="--target")
        targets[version] = url
    return targets


@group.command("evaluate")
@click.argument("model")
@stack_option
@click.option(
    "--golden",
    "golden_path",
    default=None,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Labelled golden set (JSON; see docs/release-loop.md). Default: the model's analysis.goldenSet.file.",
)
@click.option(
    "--target",
    "target_values",
    multiple=True,
    metavar="VERSION=URL",
    help="Endpoint of a version (default: each version's Service <model>-<version> in the stack's namespace).",
)
@click.option(
    "--route-name",
    default=None,
    metavar="NAME",
    help="Model name in /v2/models/NAME/infer (default: analysis.goldenSet.route, else MODEL).",
)
@click.option(
    "--listen", default=None, metavar="HOST:PORT", help="Serve /metrics here and evaluate every --interval."
)
@click.option(
    "--interval",
    default=None,
    type=click.FloatRange(min=1),
    help="Seconds between rounds (default: analysis.goldenSet.interval, else 30).",
)
@click.option(
    "--rounds",
    default=0,
    type=click.IntRange(min=0),
    help="Stop after this many rounds (0: run until stopped).",
)
@report_errors
def evaluate(
    *,
    model: str,
    stack: str,
    golden_path: Path | None,
    target_values: tuple[str, ...],
    route_name: str | None,
    listen: str | None,
    interval: float | None,
    rounds: int,
) -> None:
    """Score every version of MODEL on a labelled golden set; print the scores, or export them.

    Without --listen: one round, printed as JSON. With --listen: rounds every --interval seconds, the
    scores served as Prometheus gauges on /metrics (modelstack_golden_accuracy,
    modelstack_golden_confidence_mean, … labelled namespace, model, version).

    \b
    Exit codes:
      0  scored (with --listen: stopped after --rounds)
      1  a version could not be scored (one round only), or another failure
      2  invalid input: catalog, stack, unknown model, golden set, usage
    """
    from components.quality.golden import (
        EvaluationError,
        Exporter,
        GoldenSet,
        GoldenSetError,
        evaluate_round,
        parse_listen,
        run_rounds,
        serve_metrics,
    )
    from components.traffic.names import version_endpoint
    from components.validation.loader import load_stack_and_catalog

    root = project_root()
    config, loaded = load_stack_and_catalog(root, stack)
    spec = loaded.catalog.models.get(model)
    if spec is None:
        raise click.UsageError(
            f"model {model!r} is not in the catalog (models: {', '.join(loaded.catalog.models)})"
        )
    declared = spec.analysis.golden_set if spec.analysis else None
    if golden_path is None:
        if declared is None:
            raise click.UsageError(f"{model} has no analysis.goldenSet: pass --golden FILE")
        golden_path = (root / config.catalog).parent / declared.file
    try:
        golden = GoldenSet.load(golden_path)
    except GoldenSetError as err:
        click.echo(f"error: {err}", err=True)
        raise SystemExit(EXIT_INVALID) from None
    route = route_name or (declared.route if declared else None) or model
    port = spec.server_preset.port
    targets = _targets(target_values) or {
        v: version_endpoint(model, v, config.namespace, port) for v in spec.versions
    }
    unknown = sorted(set(targets) - set(spec.versions))
    if unknown:
        raise click.BadParameter(f"{model} has no version {', '.join(unknown)}", param_hint="--target")
    exporter = Exporter.new(config.namespace, model)
    if listen is None:
        results = evaluate_round(golden, route, targets, exporter)
        click.echo(
            json.dumps(
                {
                    v: {"error": str(r)}
                    if isinstance(r, EvaluationError)
                    else {"accuracy": r.accuracy, "confidenceMean": r.confidence, "examples": r.examples}
                    for v, r in results.items()
                },
                indent=2,
            )
        )
        if any(isinstance(r, EvaluationError) for r in results.values()):
            raise SystemExit(EXIT_FAILURE)
        return
    try:
        host, listen_port = parse_listen(listen)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--listen") from None
    from modelstack.engine.process_policy import long_lived_process

    long_lived_process()
    server = serve_metrics(exporter, host, listen_port)
    click.echo(f"serving /metrics on http://{host}:{server.server_address[1]}", err=True)
    try:
        every = interval or (declared.interval_seconds if declared else 30.0)
        run_rounds(golden, route, targets, exporter, interval=every, rounds=rounds)
    finally:
        server.shutdown()


def _now() -> datetime:
    from datetime import UTC

    return datetime.now(tz=UTC)


def _engine_env() -> dict[str, str]:
    # The Automation API starts the CLI with this process's environment; nothing is added but what is set.
    return {k: v for k, v in os.environ.items() if k.startswith("PULUMI_")}


def _report(outcome: object) -> str:
    from modelstack.release.loop import Outcome, headline

    assert isinstance(outcome, Outcome)
    lines = [headline(outcome)]
    if outcome.dry_run and outcome.message:
        lines += ["", "dry run — would commit:", "", outcome.message]
    if outcome.commit:
        lines.append(f"commit: {outcome.commit}")
    if outcome.apply:
        lines.append(f"apply: {outcome.apply}")
    if outcome.reverted:
        lines.append(f"reverted by: {outcome.reverted}")
    for delivery in outcome.notifications:
        state = "notified" if delivery.delivered else "NOT notified"
        lines.append(f"{state}: {delivery.url} ({delivery.detail}, {delivery.attempts} attempt(s))")
    return "\n".join(lines)


COMMANDS: tuple[click.Command, ...] = (group,)
__all__ = ["COMMANDS", "EXIT_INVALID", "group"]
