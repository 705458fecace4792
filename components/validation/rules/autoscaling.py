"""Rules of queue-length autoscaling: the metric must exist on the server, and the HPA must be possible."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import ValidationError

from components.autoscaling.metrics import served_metric_name
from components.catalog.autoscaling import AutoscalingSpec
from components.catalog.errors import Finding, Path, Severity, did_you_mean
from components.catalog.model import ModelSpec, is_autoscaled
from components.catalog.server import ServerPreset
from components.validation.rules.context import RuleContext

SMALLEST_TARGET = 0.001
"""A Kubernetes quantity has milli precision: a smaller averageValue would round to 0."""


def _preset(model: ModelSpec) -> ServerPreset | None:
    # An incomplete `server: custom` is reported by custom_server_is_complete; nothing to check here.
    try:
        return model.server_preset
    except ValidationError:
        return None


def _autoscaled(ctx: RuleContext) -> Iterator[tuple[str, ModelSpec, AutoscalingSpec, ServerPreset]]:
    for name, model in ctx.models.items():
        if model.autoscaling is not None and (preset := _preset(model)) is not None:
            yield name, model, model.autoscaling, preset


def _scaling_metric_and_origin(
    name: str, model: ModelSpec, autoscaling: AutoscalingSpec, preset: ServerPreset
) -> tuple[str, Path]:
    """The metric scaled on and where the catalog chose it: autoscaling.metric, a queueMetric override,
    or (the preset's default) the autoscaling block itself."""
    if autoscaling.metric is not None:
        return autoscaling.metric, ("models", name, "autoscaling", "metric")
    if model.server_overrides is not None and model.server_overrides.queue_metric is not None:
        return preset.queue_metric, ("models", name, "serverOverrides", "queueMetric")
    return preset.queue_metric, ("models", name, "autoscaling")


def scaling_metric_is_exposed(ctx: RuleContext) -> Iterator[Finding]:
    for name, model, autoscaling, preset in _autoscaled(ctx):
        metric, where = _scaling_metric_and_origin(name, model, autoscaling, preset)
        if metric not in preset.metrics:
            yield Finding(
                where,
                f"server {preset.kind.value} does not expose {metric!r}, so the autoscaler would never get "
                f"a value{did_you_mean(metric, preset.metrics)} (exposed: {', '.join(preset.metrics)})",
            )


def autoscaling_has_a_range(ctx: RuleContext) -> Iterator[Finding]:
    for name, model, _, _ in _autoscaled(ctx):
        if not any(is_autoscaled(model, v) for v in model.versions.values()):
            yield Finding(
                ("models", name, "autoscaling"),
                "every version has replicas.min == replicas.max, so no HorizontalPodAutoscaler is created "
                "and autoscaling has no effect — give a version a range (e.g. replicas: {min: 1, max: 4}) "
                "or remove autoscaling",
                Severity.WARNING,
            )


def idle_replicas_within_max(ctx: RuleContext) -> Iterator[Finding]:
    for name, model, _, _ in _autoscaled(ctx):
        for version, spec in model.versions.items():
            idle = spec.replicas.idle
            if is_autoscaled(model, spec) and idle is not None and idle > spec.replicas.max:
                yield Finding(
                    ("models", name, "versions", version, "replicas", "idle"),
                    f"replicas.idle ({idle}) is above replicas.max ({spec.replicas.max}) — the autoscaler's "
                    "minReplicas at weight 0 cannot exceed its maxReplicas; lower idle or raise max",
                )


def target_is_a_quantity(ctx: RuleContext) -> Iterator[Finding]:
    for name, _, autoscaling, _ in _autoscaled(ctx):
        if round(autoscaling.target * 1000) < 1:
            yield Finding(
                ("models", name, "autoscaling", "target"),
                f"target {autoscaling.target:g} is below {SMALLEST_TARGET:g}, the smallest averageValue a "
                "Kubernetes quantity can express — use a larger target",
            )


def served_metric_names_are_unique(ctx: RuleContext) -> Iterator[Finding]:
    """Two Prometheus metrics served under one API name would make the adapter's rules ambiguous."""
    first: dict[str, tuple[str, str]] = {}
    for name, _, autoscaling, preset in _autoscaled(ctx):
        raw = autoscaling.metric or preset.queue_metric
        served = served_metric_name(raw)
        other_model, other_raw = first.setdefault(served, (name, raw))
        if other_raw != raw:
            yield Finding(
                ("models", name, "autoscaling"),
                f"metric {raw!r} is served to the autoscaler as {served!r}, the same name as {other_raw!r} "
                f"of model {other_model} — the metrics adapter could not tell them apart; rename one metric",
            )


AUTOSCALING_RULES = (
    scaling_metric_is_exposed,
    autoscaling_has_a_range,
    idle_replicas_within_max,
    target_is_a_quantity,
    served_metric_names_are_unique,
)
