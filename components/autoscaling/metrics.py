"""Which Prometheus metric a model scales on, and the one name the HPA and the adapter both use for it
(engine prometheus-adapter; KEDA queries the raw series and serves a metric of its own).

The HPA asks the custom/external metrics API for a metric by name and prometheus-adapter serves it under
a name derived from the Prometheus series. Both sides call `served_metric_name`, so they cannot drift.
"""

from __future__ import annotations

import re

from components.catalog.autoscaling import MetricType
from components.catalog.model import ModelSpec

# Prometheus reserves `:` for recording rules, but vLLM exports `vllm:num_requests_waiting`; the metrics
# APIs name metrics in URL paths, where only letters, digits and `_` are safe across adapters and proxies.
_NOT_SERVABLE = re.compile(r"[^A-Za-z0-9_]")


def served_metric_name(raw: str) -> str:
    """`vllm:num_requests_waiting` -> `vllm_num_requests_waiting`; names that are already safe are kept."""
    return _NOT_SERVABLE.sub("_", raw)


def scaling_metric(model: ModelSpec) -> str | None:
    """The raw Prometheus metric the model's versions scale on, or None when the model does not autoscale."""
    if model.autoscaling is None:
        return None
    return model.autoscaling.metric or model.server_preset.queue_metric


def scaling_metric_type(model: ModelSpec) -> MetricType:
    return model.autoscaling.type if model.autoscaling is not None else MetricType.PODS
