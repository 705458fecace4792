"""Model-server presets: the ports, health endpoints and metrics each serving runtime really exposes."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from components.catalog.base import StrictModel, UrlPath
from components.catalog.patterns import Pattern, excerpt, matching
from components.catalog.workload import Precision

_SAME_SPELLING = {p: p.value for p in Precision}

# Prometheus' metric-name format (https://prometheus.io/docs/concepts/data_model/).
METRIC_NAME = Pattern(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
MetricName = Annotated[
    str,
    matching(
        METRIC_NAME,
        lambda v: (
            f"{excerpt(v)} is not a Prometheus metric name — use letters, digits, '_' and ':', not "
            "starting with a digit"
        ),
        200,
    ),
]


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
    metrics_path: UrlPath | None = None
    liveness_path: UrlPath | None = None
    """Answers 200 while the process is healthy, even if the model is still loading."""
    readiness_path: UrlPath | None = None
    """Answers 200 only once the model is loaded and can serve."""
    queue_metric: MetricName | None = None
    """Gauge of requests waiting for the model; the default autoscaling metric."""
    metrics: tuple[MetricName, ...] | None = None
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
    precision_flag: str | None = None
    """Command-line flag the server reads its precision from (vLLM `--dtype`), appended to the args."""
    precision_env: str | None = None
    """Environment variable the server reads its precision from (TGI's launcher `DTYPE`)."""
    precision_values: dict[Precision, str] = _SAME_SPELLING
    """The server's spelling of each catalog precision it accepts; a precision missing here is refused."""
    port_env: str | None = None
    """Environment variable the server binds its HTTP port from, when its image's default differs."""


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
        # Triton has no precision flag: it is a property of the model repository (config.pbtxt, the
        # TensorRT plan). MODEL_PRECISION is modelstack's own variable, for images that read it.
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
        # vLLM has no DTYPE variable; `--dtype {auto,half,float16,bfloat16,float,float32}` (engine args).
        precision_flag="--dtype",
        precision_values={Precision.FP32: "float32", Precision.FP16: "float16", Precision.BF16: "bfloat16"},
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
        # The launcher's `--dtype` is `[env: DTYPE=] [possible values: float16, bfloat16]`: anything else,
        # fp32 included, makes it exit at start-up.
        precision_env="DTYPE",
        precision_values={Precision.FP16: "float16", Precision.BF16: "bfloat16"},
        # The image sets PORT=80 (a privileged port a non-root server cannot bind); the launcher reads PORT.
        port_env="PORT",
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


def server_env(preset: ServerPreset, precision: Precision) -> dict[str, str]:
    """Variables the server itself reads, spelled its way: its HTTP port, its precision."""
    found: dict[str, str] = {}
    if preset.port_env is not None:
        found[preset.port_env] = str(preset.port)
    if preset.precision_env is not None and precision in preset.precision_values:
        found[preset.precision_env] = preset.precision_values[precision]
    return found


def server_args(preset: ServerPreset, precision: Precision) -> tuple[str, ...]:
    """Command-line arguments the server reads its precision from (appended after the catalog's)."""
    if preset.precision_flag is not None and precision in preset.precision_values:
        return (preset.precision_flag, preset.precision_values[precision])
    return ()
