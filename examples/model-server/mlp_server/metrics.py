"""The metrics ``/metrics`` serves: Triton's names (so the preset's HPA metric and alerts work), our
latency histogram and non-finite counter, and the Prometheus text they render to."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Triton's names, so dashboards, the Triton preset's HPA metric and alert rules work unchanged.
PENDING_METRIC = "nv_inference_pending_request_count"  # gauge: requests waiting for the model
SUCCESS_METRIC = "nv_inference_request_success"  # counter (Triton spells it without _total)
FAILURE_METRIC = "nv_inference_request_failure"  # counter
QUEUE_US_METRIC = "nv_inference_queue_duration_us"  # counter: cumulative µs spent waiting
REQUEST_US_METRIC = "nv_inference_request_duration_us"  # counter: cumulative µs end to end
COMPUTE_US_METRIC = "nv_inference_compute_infer_duration_us"  # counter: cumulative µs in the model
INFERENCE_COUNT_METRIC = "nv_inference_count"  # counter: inferences, batch rows counted one by one
# Ours: Triton has no latency histogram on this route, and a histogram is what SLO alerts need.
LATENCY_METRIC = "modelstack_inference_request_duration_seconds"  # histogram
NONFINITE_METRIC = "modelstack_nonfinite_outputs_total"  # counter: responses refused for NaN/Inf
METRIC_NAMES = (
    PENDING_METRIC,
    SUCCESS_METRIC,
    FAILURE_METRIC,
    QUEUE_US_METRIC,
    REQUEST_US_METRIC,
    COMPUTE_US_METRIC,
    INFERENCE_COUNT_METRIC,
    LATENCY_METRIC,
    NONFINITE_METRIC,
)
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class TritonCounters:
    """Triton-named counters, rendered as Triton does: ``TYPE counter`` without a ``_total`` suffix.

    prometheus_client always appends ``_total`` to counters, which would rename these series.
    """

    HELP = {
        SUCCESS_METRIC: "Number of successful inference requests",
        FAILURE_METRIC: "Number of failed inference requests",
        QUEUE_US_METRIC: "Cumulative time requests spent waiting for the model, in microseconds",
        REQUEST_US_METRIC: "Cumulative inference request duration, in microseconds",
        COMPUTE_US_METRIC: "Cumulative time spent computing in the model, in microseconds",
        INFERENCE_COUNT_METRIC: "Number of inferences performed (a batch of n counts n)",
    }

    def __init__(self, model: str) -> None:
        self._model = model
        self._lock = threading.Lock()
        self._values = dict.fromkeys(self.HELP, 0.0)

    def add(self, name: str, amount: float = 1.0) -> None:
        with self._lock:
            self._values[name] += amount

    def render(self) -> bytes:
        with self._lock:
            values = dict(self._values)
        label = _escape_label(self._model)
        lines: list[str] = []
        for name, value in values.items():
            lines += [f"# HELP {name} {self.HELP[name]}", f"# TYPE {name} counter"]
            lines.append(f'{name}{{model="{label}"}} {_format_value(value)}')
        return ("\n".join(lines) + "\n").encode()


def _escape_label(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _format_value(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


class Metrics:
    def __init__(self, model: str) -> None:
        self.model = model
        # A private registry: several servers (tests) can share a process without clashing.
        self.registry = CollectorRegistry(auto_describe=True)
        self.pending = Gauge(
            PENDING_METRIC, "Inference requests waiting for the model", ["model"], registry=self.registry
        ).labels(model=model)
        self.latency = Histogram(
            LATENCY_METRIC,
            "Inference request duration (parse, queue, compute, encode), in seconds",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        ).labels(model=model)
        # Counter("x") exposes "x_total"; the name below is the exposed one.
        self.nonfinite = Counter(
            NONFINITE_METRIC.removesuffix("_total"),
            "Inference outputs containing NaN or Inf (refused with 500)",
            ["model"],
            registry=self.registry,
        ).labels(model=model)
        self.triton = TritonCounters(model)

    def render(self) -> bytes:
        return generate_latest(self.registry) + self.triton.render()
