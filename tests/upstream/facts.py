"""Upstream interfaces, as their own documentation and source state them (docs/upstream-interfaces.md cites
each one with its version). Tests compare what modelstack renders with these, never with its own output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.catalog.model import ModelSpec
from components.catalog.stack_config import StackConfig
from components.workload.args import ModelVersionArgs

DIGEST = "617463c1965054fa4390857246a0cfc920baa61a012021f247ea76efca038a4b"
IMAGE = f"registry.example.com/m@sha256:{DIGEST}"


@dataclass(frozen=True)
class ServerInterface:
    port: int
    """The port the server binds, once modelstack's injected variables are applied."""
    metrics_port: int
    metrics_path: str
    liveness_path: str
    readiness_path: str
    queue_metric: str
    precision_values: frozenset[str]
    """Every value the server's precision option accepts (anything else: exit at start-up)."""


UPSTREAM: dict[str, ServerInterface] = {
    # vLLM engine args (docs.vllm.ai v0.8.5): `--port` default 8000, `--dtype {auto,half,float16,bfloat16,float,
    # float32}`; the OpenAI server answers GET /health and serves /metrics on the same port;
    # vllm/v1/metrics/loggers.py: gauge `vllm:num_requests_waiting`.
    "vllm": ServerInterface(
        8000,
        8000,
        "/metrics",
        "/health",
        "/health",
        "vllm:num_requests_waiting",
        frozenset({"auto", "half", "float16", "bfloat16", "float", "float32"}),
    ),
    # TGI launcher (docs/source/basic_tutorials/launcher.md @00dc371): `--dtype [env: DTYPE=] [possible values:
    # float16, bfloat16]`, `--port [env: PORT=]` (the image sets PORT=80, so modelstack sets PORT=8080);
    # the router serves GET /health and /metrics on that port; gauge `tgi_queue_size`.
    "tgi": ServerInterface(
        8080, 8080, "/metrics", "/health", "/health", "tgi_queue_size", frozenset({"float16", "bfloat16"})
    ),
    # Triton (server docs/user_guide/metrics.md, docs/protocol KServe v2): HTTP 8000, metrics 8002 /metrics,
    # /v2/health/live and /v2/health/ready; gauge `nv_inference_pending_request_count`. Precision is part of
    # the model repository, not a server option: modelstack's MODEL_PRECISION variable is its own.
    "triton": ServerInterface(
        8000,
        8002,
        "/metrics",
        "/v2/health/live",
        "/v2/health/ready",
        "nv_inference_pending_request_count",
        frozenset({"fp32", "fp16", "bf16"}),
    ),
}


def model(server: str, **version: Any) -> ModelSpec:
    body = {"image": IMAGE, "weight": 100, "resources": {"cpu": "1", "memory": "1Gi"}, **version}
    return ModelSpec.model_validate({"server": server, "versions": {"v1": body}})


def version_args(spec: ModelSpec, stack: StackConfig | None = None) -> ModelVersionArgs:
    stack = stack or StackConfig(namespace="ml-test")
    return ModelVersionArgs("m", "v1", spec, spec.versions["v1"], stack, stack.namespace, IMAGE)
