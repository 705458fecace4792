"""Rules of the golden-set evaluator: quality checks have data, the golden set is usable and fits its ConfigMap."""

from __future__ import annotations

from collections.abc import Iterator

from components.catalog.analysis import MIN_GOLDEN_INTERVAL_SECONDS, promql_duration_seconds
from components.catalog.errors import Finding
from components.images.problems import read_text_file
from components.naming import version_object_name
from components.quality.golden import GoldenSet, GoldenSetError
from components.quality.manifests import CONFIG_MAP_LIMIT_BYTES, evaluator_files
from components.quality.placement import evaluator_pool
from components.traffic.names import golden_evaluator_name
from components.validation.rules.context import RuleContext


def quality_checks_have_a_golden_set(ctx: RuleContext) -> Iterator[Finding]:
    """Without an evaluator, `accuracyDropPercent` / `confidenceDrift` read no data forever: every canary
    would sit inconclusive until `progressDeadline` and then be rolled back, whatever its quality."""
    for name, model in ctx.models.items():
        analysis = model.analysis
        if analysis is None or analysis.golden_set is not None:
            continue
        for field, value in (
            ("accuracyDropPercent", analysis.accuracy_drop_percent),
            ("confidenceDrift", analysis.confidence_drift),
        ):
            if value is not None:
                yield Finding(
                    ("models", name, "analysis", field),
                    f"{field} needs analysis.goldenSet — without it no evaluator exports the golden-set "
                    "series, and the release loop would roll back every canary at progressDeadline for "
                    f"lack of data; add goldenSet: {{file: path/to/golden.json}} or remove {field}",
                )


def golden_set_interval_fits_the_window(ctx: RuleContext) -> Iterator[Finding]:
    for name, model in ctx.models.items():
        golden = model.analysis.golden_set if model.analysis else None
        if model.analysis is None or golden is None:
            continue
        window = model.analysis.window
        if not MIN_GOLDEN_INTERVAL_SECONDS <= golden.interval_seconds <= promql_duration_seconds(window):
            yield Finding(
                ("models", name, "analysis", "goldenSet", "interval"),
                f"interval {golden.interval} must be from {MIN_GOLDEN_INTERVAL_SECONDS:g}s to the analysis "
                f"window ({window}) — a longer one leaves windows without a golden-set round, which the "
                "gate reads as no data",
            )


def golden_sets_are_usable(ctx: RuleContext) -> Iterator[Finding]:
    """The file exists inside the project, is a golden set (the evaluator's own parser), and fits the
    ConfigMap it travels in together with the program and its spec."""
    project = (ctx.project_dir or ctx.catalog_dir).resolve()
    for name, model in ctx.models.items():
        golden = model.analysis.golden_set if model.analysis else None
        if golden is None:
            continue
        where = ("models", name, "analysis", "goldenSet", "file")
        text, problem = read_text_file(ctx.catalog_dir / golden.file, project, golden.file)
        if problem is not None:
            yield Finding(where, problem.message.replace("build files", "the golden set"))
            continue
        assert text is not None
        try:
            GoldenSet.parse(text, golden.file)
        except GoldenSetError as err:
            yield Finding(where, f"{err} — see examples/golden-set/golden.json for the format")
            continue
        files = evaluator_files(name, model, ctx.stack.namespace, text)
        if files.size_bytes > CONFIG_MAP_LIMIT_BYTES:
            room = CONFIG_MAP_LIMIT_BYTES - (files.size_bytes - len(text.encode()))
            yield Finding(
                where,
                f"{golden.file} is {len(text.encode())} bytes; with the evaluator program and its spec the "
                f"ConfigMap would hold {files.size_bytes} bytes, more than the API server's limit of "
                f"{CONFIG_MAP_LIMIT_BYTES} — keep the golden set under {room} bytes (fewer examples, or "
                "shorter numbers)",
            )


def golden_sets_have_a_runner_and_a_pool(ctx: RuleContext) -> Iterator[Finding]:
    for name, model in ctx.models.items():
        golden = model.analysis.golden_set if model.analysis else None
        if golden is None:
            continue
        where = ("models", name, "analysis", "goldenSet")
        if not ctx.stack.smoke_runner_image:
            yield Finding(
                where,
                "the stack configuration has no smokeRunnerImage to run the golden-set evaluator in — set "
                "modelstack:smokeRunnerImage to a Python image pinned by digest",
            )
        pool = evaluator_pool(model, ctx.stack)
        if golden.node_pool is not None and pool is None:
            known = ", ".join(p.name for p in ctx.stack.node_pools) or "none"
            yield Finding(
                (*where, "nodePool"), f"node pool {golden.node_pool!r} is not in the stack (pools: {known})"
            )
        elif pool is None:
            yield Finding(
                where,
                "the stack has no node pool without GPUs for the golden-set evaluator — add one, or name "
                "a pool with goldenSet.nodePool",
            )
        elif pool.gpu is not None:
            yield Finding(
                (*where, "nodePool"),
                f"node pool {pool.name!r} has GPUs; the evaluator needs none — name a CPU pool",
            )


def evaluator_names_are_free(ctx: RuleContext) -> Iterator[Finding]:
    """`<model>-golden-eval` (Deployment, ServiceAccount) must not be a version's `<model>-<version>` or a
    model's own name (its Service and ServiceAccount)."""
    taken = {name: f"model {name}" for name in ctx.models}
    for name, model in ctx.models.items():
        taken.update({version_object_name(name, v): f"version {name}/{v}" for v in model.versions})
    for name, model in ctx.models.items():
        if model.analysis is None or model.analysis.golden_set is None:
            continue
        evaluator = golden_evaluator_name(name)
        if evaluator in taken:
            yield Finding(
                ("models", name, "analysis", "goldenSet"),
                f"the golden-set evaluator's objects are named {evaluator!r}, which is already the name of "
                f"{taken[evaluator]} — rename that version or model",
            )


QUALITY_RULES = (
    quality_checks_have_a_golden_set,
    golden_set_interval_fits_the_window,
    golden_sets_are_usable,
    golden_sets_have_a_runner_and_a_pool,
    evaluator_names_are_free,
)
