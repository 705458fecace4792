"""The ScaledObjects, HPAs, PodMonitors, PrometheusRules and adapter rules fragment pass the shared
cluster-like validator (the ScaledObject against KEDA's own CRD in ../shared/schemas/)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from modelstack.engine.render import Render

from .conftest import ADAPTER, KEDA
from .test_observability import EMBEDDER

MONITORING = {"PodMonitor", "PrometheusRule"}
FRAGMENT_LABEL = "modelstack.io/prometheus-adapter-rules"


def only_ours(render: Render) -> Render:
    manifests = [
        m
        for m in render.manifests
        if m.kind in MONITORING | {"HorizontalPodAutoscaler", "ScaledObject"}
        or (m.kind == "ConfigMap" and FRAGMENT_LABEL in m.body["metadata"].get("labels", {}))
    ]
    return Render(manifests, {}, [])


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_keda_autoscaling_and_monitoring_objects_of_the_stack_validate(
    manifest_validator, render_of, stack: str, tmp_path: Path
) -> None:
    ours = only_ours(render_of(stack))
    assert {m.kind for m in ours.manifests} == MONITORING | {"ScaledObject"}

    result = manifest_validator(ours, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_adapter_autoscaling_and_monitoring_objects_of_the_stack_validate(
    manifest_validator, render_with_engine, stack: str, tmp_path: Path
) -> None:
    ours = only_ours(render_with_engine(stack, ADAPTER))
    assert {m.kind for m in ours.manifests} == MONITORING | {"HorizontalPodAutoscaler", "ConfigMap"}

    result = manifest_validator(ours, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_refuses_a_scaled_object_keda_would_refuse(
    manifest_validator, render_of, tmp_path: Path
) -> None:
    # Worth something only if the ScaledObject is really checked against KEDA's schema.
    [scaled, *_] = [m for m in render_of("dev").manifests if m.kind == "ScaledObject"]
    broken = copy.deepcopy(scaled.body)
    del broken["spec"]["triggers"][0]["metadata"]

    result = manifest_validator(Render([dataclasses.replace(scaled, body=broken)], {}, []), tmp_path)
    assert result.returncode != 0


@pytest.mark.parametrize("engine", [KEDA, ADAPTER])
def test_external_metric_autoscaler_validates(
    manifest_validator, render_catalog, engine: str, tmp_path: Path
) -> None:
    ours = only_ours(render_catalog(EMBEDDER.replace("{target: 6}", "{target: 0.5, type: External}"), engine))

    result = manifest_validator(ours, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
