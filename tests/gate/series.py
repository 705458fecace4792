"""Known Istio telemetry for the gate's integration tests, written as OpenMetrics for `promtool` backfill.

Every model below is one scenario in namespace `models`: stable `v1` is healthy everywhere, canary `v2`
behaves as the model's name says. Samples every 15 s for 30 minutes; the tests evaluate at `AT`, the end.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

NAMESPACE = "models"
START = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
STEP_SECONDS = 15
STEPS = 120  # 30 minutes
AT = START + timedelta(seconds=STEP_SECONDS * STEPS)
BUCKETS = ("50", "100", "250", "500", "1000", "2500", "5000", "+Inf")

# Per-request latency shares over the buckets' ranges, per 100 requests (not cumulative).
FAST = {"50": 20, "100": 40, "250": 35, "500": 5}  # P99 ≈ 450 ms
SLOW = {"250": 10, "500": 20, "1000": 40, "2500": 30}  # P99 ≈ 2450 ms


@dataclass(frozen=True)
class Traffic:
    """Requests per 15 s step by response code, while the step index is inside `active`."""

    per_step: Mapping[str, int]
    latency: Mapping[str, int] = field(default_factory=lambda: FAST)
    active: range = range(STEPS + 1)
    every: int = 1
    """Only every n-th step carries traffic (a trickle)."""

    def requests(self, step: int) -> Mapping[str, int]:
        on = step in self.active and step % self.every == 0 and step > 0
        return {code: n if on else 0 for code, n in self.per_step.items()}


HEALTHY = Traffic({"200": 150})
STABLE = Traffic({"200": 600})

# model -> version -> traffic; a version that is missing has no series at all.
SCENARIOS: Mapping[str, Mapping[str, Traffic]] = {
    "healthy": {"v1": STABLE, "v2": HEALTHY},
    "slow": {"v1": STABLE, "v2": Traffic({"200": 150}, latency=SLOW)},
    "erroring": {"v1": STABLE, "v2": Traffic({"200": 141, "503": 9})},  # 6 % 5xx
    "idle": {"v1": STABLE},
    "stopped": {"v1": STABLE, "v2": Traffic({"200": 150}, active=range(80))},  # quiet for the last 10 min
    "trickle": {"v1": STABLE, "v2": Traffic({"500": 1}, every=4)},  # ~5 failing requests per 5 min
    "queued": {"v1": STABLE, "v2": HEALTHY},
}
# Gauges of the model server, labelled like the pods: model -> version -> value.
QUEUE_LENGTH = {"healthy": {"v1": 3.0, "v2": 2.0}, "queued": {"v1": 3.0, "v2": 12.0}}
# A Triton-like queue gauge, one series per loaded model and pod (the PodMonitor copies app and version
# onto each): (namespace, version, pod, loaded model) -> requests waiting. Version v1 of `detector` in
# NAMESPACE holds 2 + 3 + 1 = 6 requests on 2 pods; its v2 and a namespace of the same names elsewhere
# must not count.
TRITON_QUEUE = "nv_inference_pending_request_count"
TRITON_QUEUE_SERIES = {
    (NAMESPACE, "v1", "detector-v1-a", "yolo"): 2.0,
    (NAMESPACE, "v1", "detector-v1-a", "ocr"): 3.0,
    (NAMESPACE, "v1", "detector-v1-b", "yolo"): 1.0,
    (NAMESPACE, "v2", "detector-v2-a", "yolo"): 10.0,
    ("elsewhere", "v1", "detector-v1-a", "yolo"): 50.0,
}


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _istio(model: str, version: str, reporter: str = "destination", **extra: str) -> dict[str, str]:
    return {
        "reporter": reporter,
        "destination_workload": f"{model}-{version}",
        "destination_workload_namespace": NAMESPACE,
        "destination_app": model,
        "destination_version": version,
        **extra,
    }


def _counter(name: str, labels: Mapping[str, str], increments: list[float]) -> Iterator[str]:
    total = 0.0
    for step, inc in enumerate(increments):
        total += inc
        yield f"{name}{_labels(**labels)} {total:g} {START.timestamp() + step * STEP_SECONDS:.0f}"


def _versions() -> Iterator[tuple[str, str, Traffic]]:
    for model, versions in SCENARIOS.items():
        for version, traffic in versions.items():
            yield model, version, traffic


def _request_lines() -> Iterator[str]:
    for model, version, traffic in _versions():
        for code in traffic.per_step:
            counts = [float(traffic.requests(s)[code]) for s in range(STEPS + 1)]
            yield from _counter("istio_requests_total", _istio(model, version, response_code=code), counts)
    # The client side also reports (with its own errors): the gate must only count the destination's view.
    counts = [1000.0 if s else 0.0 for s in range(STEPS + 1)]
    labels = _istio("healthy", "v2", reporter="source", response_code="503")
    yield from _counter("istio_requests_total", labels, counts)


def _bucket_lines() -> Iterator[str]:
    for model, version, traffic in _versions():
        for i, le in enumerate(BUCKETS):
            shares = sum(traffic.latency.get(b, 0) for b in BUCKETS[: i + 1])
            counts = [sum(traffic.requests(s).values()) * shares / 100 for s in range(STEPS + 1)]
            labels = _istio(model, version, response_code="200", le=le)
            yield from _counter("istio_request_duration_milliseconds_bucket", labels, counts)


def _gauge_lines() -> Iterator[str]:
    for model, versions in QUEUE_LENGTH.items():
        for version, value in versions.items():
            labels = {"namespace": NAMESPACE, "app": model, "version": version}
            for step in range(STEPS + 1):
                yield f"model_queue_length{_labels(**labels)} {value:g} {START.timestamp() + step * STEP_SECONDS:.0f}"
    for (namespace, version, pod, loaded), value in TRITON_QUEUE_SERIES.items():
        labels = {"namespace": namespace, "app": "detector", "version": version, "pod": pod, "model": loaded}
        for step in range(STEPS + 1):
            yield f"{TRITON_QUEUE}{_labels(**labels)} {value:g} {START.timestamp() + step * STEP_SECONDS:.0f}"
    # A cache that saw hits but no lookups (a broken exporter): hit ratios are NaN or +Inf.
    for name, inc in (("model_cache_lookups_total", 0.0), ("model_cache_hits_total", 5.0)):
        labels = {"namespace": NAMESPACE, "app": "healthy", "version": "v2"}
        yield from _counter(name, labels, [inc if s else 0.0 for s in range(STEPS + 1)])


def openmetrics() -> str:
    lines = [*_request_lines(), *_bucket_lines(), *_gauge_lines(), "# EOF"]
    return "\n".join(lines) + "\n"
