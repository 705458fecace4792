"""Model-server presets: the ports, health endpoints and metrics each serving runtime really exposes."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from components.catalog.base import StrictModel


class ServerKind(StrEnum):
    TRITON = "triton"
    VLLM = "vllm"
    TGI = "tgi"
    CUSTOM = "custom"


class ServerOverrides(StrictModel):
    """Per-model changes to a preset; for `server: custom` every endpoint must be given here."""

    port: int | None = Field(default=None, ge=1, le=65535)
    """HTTP port the server listens on."""
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    """Port of the Prometheus endpoint (may equal `port`)."""
    metrics_path: str | None = Field(default=None, pattern=r"^/")
    liveness_path: str | None = Field(default=None, pattern=r"^/")
    """Answers 200 while the process is healthy, even if the model is still loading."""
    readiness_path: str | None = Field(default=None, pattern=r"^/")
    """Answers 200 only once the model is loaded and can serve."""
    queue_metric: str | None = None
    """Gauge of requests waiting for the model; the default autoscaling metric."""
    metrics: tuple[str, ...] | None = None
    """Every metric name the server exposes (autoscaling and alerts may only use these)."""
    writable_paths: tuple[str, ...] | None = None
    """Directories the server writes to; each becomes an emptyDir (the root filesystem is read-only)."""


class ServerPreset(StrictModel):
    """The fully resolved endpoints of one model's server."""

    kind: ServerKind
    port: int
    metrics_port: int
    metrics_path: str
    liveness_path: str
    readiness_path: str
    queue_metric: str
    metrics: tuple[str, ...]
    writable_paths: tuple[str, ...]
    precision_env: str
    """Environment variable the precision is passed in."""


PRESETS: dict[ServerKind, ServerPreset] = {
    ServerKind.TRITON: ServerPreset(
        kind=ServerKind.TRITON,
        port=8000,
        metrics_port=8002,
        metrics_path="/metrics",
        liveness_path="/v2/health/live",
        readiness_path="/v2/health/ready",
        queue_metric="nv_inference_pending_request_count",
        metrics=(
            "nv_inference_pending_request_count",
            "nv_inference_queue_duration_us",
            "nv_inference_request_success",
            "nv_inference_request_failure",
            "nv_inference_request_duration_us",
            "nv_inference_compute_infer_duration_us",
            "nv_inference_count",
            "nv_gpu_utilization",
        ),
        writable_paths=("/tmp",),
        precision_env="MODEL_PRECISION",
    ),
    ServerKind.VLLM: ServerPreset(
        kind=ServerKind.VLLM,
        port=8000,
        metrics_port=8000,
        metrics_path="/metrics",
        liveness_path="/health",
        readiness_path="/health",
        queue_metric="vllm:num_requests_waiting",
        metrics=(
            "vllm:num_requests_waiting",
            "vllm:num_requests_running",
            "vllm:kv_cache_usage_perc",
            "vllm:request_queue_time_seconds",
            "vllm:time_to_first_token_seconds",
            "vllm:e2e_request_latency_seconds",
            "vllm:request_success_total",
        ),
        # vLLM compiles kernels and caches tokenizers under $HOME/.cache and /tmp.
        writable_paths=("/tmp", "/home/model/.cache"),
        precision_env="DTYPE",
    ),
    ServerKind.TGI: ServerPreset(
        kind=ServerKind.TGI,
        port=8080,
        metrics_port=8080,
        metrics_path="/metrics",
        liveness_path="/health",
        readiness_path="/health",
        queue_metric="tgi_queue_size",
        metrics=(
            "tgi_queue_size",
            "tgi_batch_current_size",
            "tgi_batch_current_max_tokens",
            "tgi_request_duration",
            "tgi_request_count",
            "tgi_request_success",
            "tgi_request_failure",
        ),
        writable_paths=("/tmp", "/data"),
        precision_env="DTYPE",
    ),
}

CUSTOM_REQUIRED = ("port", "liveness_path", "readiness_path", "queue_metric", "metrics")


def resolve_server(kind: ServerKind, overrides: ServerOverrides | None) -> ServerPreset:
    """Merge a preset with a model's overrides. `custom` must be complete (checked by the schema)."""
    given = overrides.model_dump(exclude_none=True) if overrides else {}
    if kind is ServerKind.CUSTOM:
        base: dict[str, object] = {
            "kind": kind,
            "metrics_port": given.get("port"),
            "metrics_path": "/metrics",
            "writable_paths": ("/tmp",),
            "precision_env": "MODEL_PRECISION",
        }
    else:
        base = PRESETS[kind].model_dump()
    return ServerPreset.model_validate({**base, **given})
