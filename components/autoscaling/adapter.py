"""prometheus-adapter rules serving exactly the metrics the HPAs ask for, generated from the same catalog
entries and through the same `served_metric_name`, in one ConfigMap per stack."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.autoscaling.metrics import scaling_metric, scaling_metric_type, served_metric_name
from components.catalog.autoscaling import MetricType
from components.catalog.model import ModelSpec, is_autoscaled
from components.catalog.stack_config import StackConfig
from components.naming import PART_OF

ADAPTER_CONFIGMAP = "modelstack-adapter-rules"
CONFIG_KEY = "config.yaml"
# Per pod: a Triton pod reports one series per loaded model; the HPA averages the pods' values.
PODS_QUERY = "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"
# External: the HPA's selector (app, version) and namespace arrive as label matchers.
EXTERNAL_QUERY = "sum(<<.Series>>{<<.LabelMatchers>>}) by (namespace, app, version)"


def _name(raw_metric: str) -> dict[str, str]:
    # Metric names hold only [A-Za-z0-9_:], none of them a regex metacharacter.
    return {"matches": f"^{raw_metric}$", "as": served_metric_name(raw_metric)}


def pods_rule(raw_metric: str) -> dict[str, Any]:
    return {
        "seriesQuery": f'{raw_metric}{{namespace!="",pod!=""}}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": _name(raw_metric),
        "metricsQuery": PODS_QUERY,
    }


def external_rule(raw_metric: str) -> dict[str, Any]:
    return {
        "seriesQuery": f'{raw_metric}{{namespace!="",app!="",version!=""}}',
        # Namespaced: the adapter adds the HPA's namespace, so one stack never scales on another's queue.
        "resources": {"overrides": {"namespace": {"resource": "namespace"}}},
        "name": _name(raw_metric),
        "metricsQuery": EXTERNAL_QUERY,
    }


def scaled_metrics(models: Mapping[str, ModelSpec]) -> set[tuple[MetricType, str]]:
    """(type, raw metric) of every HPA the catalog creates: models with at least one autoscaled version."""
    out = set()
    for model in models.values():
        metric = scaling_metric(model)
        if metric is not None and any(is_autoscaled(model, v) for v in model.versions.values()):
            out.add((scaling_metric_type(model), metric))
    return out


def adapter_config(models: Mapping[str, ModelSpec]) -> dict[str, list[dict[str, Any]]]:
    """prometheus-adapter's config: one rule per distinct metric, sorted so the ConfigMap is stable."""
    metrics = sorted(scaled_metrics(models))
    return {
        "rules": [pods_rule(m) for t, m in metrics if t is MetricType.PODS],
        "externalRules": [external_rule(m) for t, m in metrics if t is MetricType.EXTERNAL],
    }


def adapter_configmap_manifest(models: Mapping[str, ModelSpec], stack: StackConfig) -> dict[str, Any]:
    config = yaml.safe_dump(adapter_config(models), sort_keys=False, width=1000)
    return {
        "metadata": {
            "name": ADAPTER_CONFIGMAP,
            "namespace": stack.monitoring.adapter_namespace,
            "labels": {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": "pulumi"},
        },
        "data": {CONFIG_KEY: config},
    }


@dataclass(frozen=True)
class AdapterRulesArgs:
    models: Mapping[str, ModelSpec]
    stack: StackConfig


class AdapterRules(pulumi.ComponentResource):
    config_map: k8s.core.v1.ConfigMap

    def __init__(self, name: str, args: AdapterRulesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelstack:autoscaling:AdapterRules", name, None, opts)
        self.config_map = k8s.core.v1.ConfigMap(
            ADAPTER_CONFIGMAP,
            **adapter_configmap_manifest(args.models, args.stack),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"configMap": ADAPTER_CONFIGMAP})
