"""Rules of the foundation and workload issues: weights, pools, config references, precision."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import ValidationError

from components.catalog.errors import Finding, did_you_mean
from components.catalog.model import ModelSpec
from components.catalog.server import ServerPreset
from components.catalog.version import image_problem
from components.catalog.workload import Precision
from components.validation.rules.context import RuleContext


def weights_sum_to_100(ctx: RuleContext) -> Iterator[Finding]:
    for name, model in ctx.models.items():
        total = sum(v.weight for v in model.versions.values())
        if total != 100:
            shares = ", ".join(f"{v}={spec.weight}" for v, spec in model.versions.items())
            yield Finding(
                ("models", name, "versions"),
                f"traffic weights sum to {total}, not 100 ({shares}) — adjust them so they add up to 100",
            )


def images_pinned_by_digest(ctx: RuleContext) -> Iterator[Finding]:
    for name, version, spec in ctx.versions():
        if spec.image is not None and (problem := image_problem(spec.image)):
            yield Finding(("models", name, "versions", version, "image"), problem)


def node_pools_exist(ctx: RuleContext) -> Iterator[Finding]:
    pools = [p.name for p in ctx.stack.node_pools]
    for name, version, spec in ctx.versions():
        where = ("models", name, "versions", version)
        if spec.node_pool is not None and ctx.stack.pool(spec.node_pool) is None:
            yield Finding(
                (*where, "nodePool"),
                f"node pool {spec.node_pool!r} is not defined in the stack configuration"
                f"{did_you_mean(spec.node_pool, pools)} (defined: {', '.join(pools) or 'none'})",
            )
        elif spec.resources.gpu and spec.node_pool is None:
            yield Finding(
                (*where, "resources", "gpu"),
                "a GPU request needs a GPU node pool — set nodePool to one of: "
                + (", ".join(p.name for p in ctx.stack.node_pools if p.gpu) or "(the stack defines none)"),
            )
        elif spec.resources.mig_profile and not spec.resources.gpu:
            yield Finding(
                (*where, "resources", "migProfile"),
                "migProfile needs gpu ≥ 1 (the number of MIG instances) — set resources.gpu",
            )


def config_references_exist(ctx: RuleContext) -> Iterator[Finding]:
    for name, version, spec in ctx.versions():
        for i, env in enumerate(spec.env):
            if env.from_config is not None and env.from_config not in spec.config:
                yield Finding(
                    ("models", name, "versions", version, "env", i, "fromConfig"),
                    f"{env.name} refers to config key {env.from_config!r}, which this version's config "
                    f"does not define{did_you_mean(env.from_config, spec.config)} — add the key to "
                    "`config` or fix the name",
                )


def fp16_needs_smoke_test(ctx: RuleContext) -> Iterator[Finding]:
    for name, version, spec in ctx.versions():
        if spec.precision is Precision.FP16 and spec.smoke_test is None:
            yield Finding(
                ("models", name, "versions", version, "precision"),
                "fp16 versions must declare a smokeTest — half precision overflows to NaN/Inf on some "
                "inputs; add golden requests so the release stops before traffic moves",
            )


def _preset_or_none(model: ModelSpec) -> ServerPreset | None:
    # An incomplete `server: custom` is refused by the schema; this only guards the rule.
    try:
        return model.server_preset
    except ValidationError:
        return None


def precision_is_served(ctx: RuleContext) -> Iterator[Finding]:
    """Each server reads its precision its own way and refuses values it does not know (docs/upstream-interfaces.md)."""
    for name, model in ctx.models.items():
        preset = _preset_or_none(model)
        if preset is None:
            continue
        for version, spec in model.versions.items():
            where = ("models", name, "versions", version)
            if spec.precision not in preset.precision_values:
                accepted = ", ".join(p.value for p in preset.precision_values)
                spelled = preset.precision_flag or preset.precision_env
                yield Finding(
                    (*where, "precision"),
                    f"server {preset.kind.value} cannot run {spec.precision.value} ({spelled} accepts "
                    f"{', '.join(preset.precision_values.values())}; the server would exit at start-up) — "
                    f"set precision to one of: {accepted}",
                )
            flag = preset.precision_flag
            for i, arg in enumerate(spec.args):
                if flag is not None and (arg == flag or arg.startswith(f"{flag}=")):
                    yield Finding(
                        (*where, "args", i),
                        f"{flag} is set by modelstack from `precision` ({spec.precision.value}) — remove it "
                        "from args and set precision instead",
                    )


def smoke_tests_have_a_runner(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.stack.smoke_runner_image:
        return
    for name, version, spec in ctx.versions():
        if spec.smoke_test is not None:
            yield Finding(
                ("models", name, "versions", version, "smokeTest"),
                "the stack configuration has no smokeRunnerImage to run smoke tests in — set "
                "modelstack:smokeRunnerImage to a Python image pinned by digest",
            )


def mirror_targets_exist(ctx: RuleContext) -> Iterator[Finding]:
    for name, model in ctx.models.items():
        mirror = model.traffic.mirror
        if mirror is not None and mirror.version not in model.versions:
            yield Finding(
                ("models", name, "traffic", "mirror", "version"),
                f"mirror target {mirror.version!r} is not a version of {name}"
                f"{did_you_mean(mirror.version, model.versions)} (versions: {', '.join(model.versions)})",
            )


def ab_matches_are_unambiguous(ctx: RuleContext) -> Iterator[Finding]:
    for name, model in ctx.models.items():
        seen: dict[tuple[str | None, str | None, str], str] = {}
        for version, spec in model.versions.items():
            for i, match in enumerate(spec.match):
                key = (match.header, match.cookie, match.value)
                if key in seen:
                    yield Finding(
                        ("models", name, "versions", version, "match", i),
                        f"the same match already pins requests to version {seen[key]} — use another value",
                    )
                seen.setdefault(key, version)


CORE_RULES = (
    weights_sum_to_100,
    images_pinned_by_digest,
    node_pools_exist,
    config_references_exist,
    fp16_needs_smoke_test,
    precision_is_served,
    smoke_tests_have_a_runner,
    mirror_targets_exist,
    ab_matches_are_unambiguous,
)
