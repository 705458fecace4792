"""This stack's prometheus-adapter rules (`autoscaling.engine: prometheus-adapter`), as a fragment.

One prometheus-adapter serves the custom and external metrics APIs for the whole cluster from one
configuration file, so a stack must not own that file: it renders a ConfigMap holding only the rules its
own HPAs need, each discovering series of the stack's namespace only, named after the namespace and
labelled for the platform, which merges every fragment into the adapter's configuration
(docs/autoscaling.md, "Merging the rules"). Generated from the same catalog entries and through the same
`served_metric_name` as the HPAs, and with the scaler's query from `components.autoscaling.queries`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml

from components.autoscaling import queries
from components.autoscaling.metrics import scaling_metric, scaling_metric_type, served_metric_name
from components.catalog.autoscaling import MetricType
from components.catalog.model import ModelSpec, is_autoscaled
from components.catalog.stack_config import StackConfig
from components.kubernetes_object import KubernetesObject
from components.naming import PART_OF

FRAGMENT_LABEL = "modelstack.io/prometheus-adapter-rules"
"""The platform's merge step selects fragments by this label (value: the stack's namespace)."""
RULES_KEY = "rules.yaml"
# prometheus-adapter's template fields: it substitutes the series name, the matchers of the object the
# HPA asks about (namespace and pods, or namespace and the External selector) and the grouping label.
SERIES, MATCHERS, GROUP_BY = "<<.Series>>", "<<.LabelMatchers>>", "<<.GroupBy>>"
# Per pod: a Triton pod reports one series per loaded model; the HPA averages the pods' values.
PODS_QUERY = queries.queue_total(SERIES, MATCHERS, by=GROUP_BY)
# External: the version's whole queue, exactly the KEDA trigger's query once the adapter fills it in.
EXTERNAL_QUERY = queries.queue_total(SERIES, MATCHERS)


def fragment_name(namespace: str) -> str:
    """One fragment per stack namespace, so two stacks never overwrite each other's rules."""
    return f"modelstack-adapter-rules-{namespace}"


def _name(raw_metric: str) -> dict[str, str]:
    # Metric names hold only [A-Za-z0-9_:], none of them a regex metacharacter.
    return {"matches": f"^{raw_metric}$", "as": served_metric_name(raw_metric)}


def pods_rule(raw_metric: str, namespace: str) -> dict[str, Any]:
    return {
        # Discovers this stack's series only: the rules of another stack (or the platform's) for the same
        # metric discover theirs, and all of them answer with the same metricsQuery.
        "seriesQuery": f'{raw_metric}{{namespace="{namespace}",pod!=""}}',
        "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
        "name": _name(raw_metric),
        "metricsQuery": PODS_QUERY,
    }


def external_rule(raw_metric: str, namespace: str) -> dict[str, Any]:
    return {
        "seriesQuery": f'{raw_metric}{{namespace="{namespace}",app!="",version!=""}}',
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


def adapter_config(models: Mapping[str, ModelSpec], namespace: str) -> dict[str, list[dict[str, Any]]]:
    """This stack's rules in prometheus-adapter's format: one per distinct metric, sorted so the ConfigMap
    is stable."""
    metrics = sorted(scaled_metrics(models))
    return {
        "rules": [pods_rule(m, namespace) for t, m in metrics if t is MetricType.PODS],
        "externalRules": [external_rule(m, namespace) for t, m in metrics if t is MetricType.EXTERNAL],
    }


def adapter_configmap_manifest(models: Mapping[str, ModelSpec], stack: StackConfig) -> dict[str, Any]:
    config = yaml.safe_dump(adapter_config(models, stack.namespace), sort_keys=False, width=1000)
    return {
        "metadata": {
            "name": fragment_name(stack.namespace),
            "namespace": stack.monitoring.adapter_namespace,
            "labels": {
                FRAGMENT_LABEL: stack.namespace,
                "app.kubernetes.io/part-of": PART_OF,
                "app.kubernetes.io/managed-by": "pulumi",
            },
        },
        "data": {RULES_KEY: config},
    }


@dataclass(frozen=True)
class AdapterRulesArgs:
    models: Mapping[str, ModelSpec]
    stack: StackConfig


class AdapterRules(pulumi.ComponentResource):
    config_map: KubernetesObject

    def __init__(self, name: str, args: AdapterRulesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelstack:autoscaling:AdapterRules", name, None, opts)
        manifest = adapter_configmap_manifest(args.models, args.stack)
        self.config_map = KubernetesObject(
            manifest["metadata"]["name"], "v1", "ConfigMap", manifest, pulumi.ResourceOptions(parent=self)
        )
        self.register_outputs({"configMap": manifest["metadata"]["name"]})
