"""The HPAs, PodMonitors, PrometheusRules and adapter ConfigMap pass the shared cluster-like validator."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelstack.engine.render import Render

from .test_observability import EMBEDDER

OURS = {"HorizontalPodAutoscaler", "PodMonitor", "PrometheusRule"}


def only_ours(render: Render) -> Render:
    manifests = [
        m
        for m in render.manifests
        if m.kind in OURS or (m.kind == "ConfigMap" and m.name == "modelstack-adapter-rules")
    ]
    return Render(manifests, {}, [])


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_autoscaling_and_monitoring_objects_of_the_stack_validate(
    manifest_validator, render_of, stack: str, tmp_path: Path
) -> None:
    ours = only_ours(render_of(stack))
    assert {m.kind for m in ours.manifests} == OURS | {"ConfigMap"}

    result = manifest_validator(ours, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_external_metric_hpa_validates(manifest_validator, render_catalog, tmp_path: Path) -> None:
    ours = only_ours(render_catalog(EMBEDDER.replace("{target: 6}", "{target: 0.5, type: External}")))

    result = manifest_validator(ours, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
