"""A small, real model server: a NumPy MLP behind KServe-v2/Triton-style HTTP routes.

Routes (all on ``PORT``; ``/metrics`` moves to ``METRICS_PORT`` when that is set and differs):
  GET  /v2/health/live               200 while the process serves
  GET  /v2/health/ready              200 once the weights loaded and the golden input gives a finite
                                     output; otherwise 503 with {"ready": false, "reason": ...}
  GET  /v2/models/<name>             model metadata
  GET  /v2/models/<name>/ready       as /v2/health/ready, 404 for another name
  POST /v2/models/<name>/infer       {"inputs":[{"name":"input","shape":[B,N],"datatype":"FP32","data":[...]}]}
  GET  /metrics                      Prometheus text format (see METRIC_NAMES)

Environment: PORT (8000; 0 picks a free one), HOST (0.0.0.0), METRICS_PORT (unset: same port),
MODEL_NAME (mlp), WEIGHTS_PATH (/models/weights.npz; a directory means <dir>/weights.npz; read-only
is fine), PRECISION (fp32|fp16|bf16), MAX_REQUEST_BYTES (1048576), LOG_LEVEL (INFO).
MODEL_WEIGHTS_PATH and MODEL_PRECISION, the names modelstack's pod spec injects, are read when
WEIGHTS_PATH and PRECISION are unset.

The server writes no files, so it runs as any uid on a read-only root filesystem.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

LOG = logging.getLogger("model-server")

Array = npt.NDArray[np.floating[Any]]

PRECISIONS = ("fp32", "fp16", "bf16")
INPUT_NAME = "input"
OUTPUT_NAME = "output"
MAX_BATCH = 64
LIVE_PATH = "/v2/health/live"
READY_PATH = "/v2/health/ready"
METRICS_PATH = "/metrics"
_MODEL_ROUTE = re.compile(r"^/v2/models/(?P<name>[^/]+)(?P<rest>/ready|/infer)?$")

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
WEIGHTS_FILE_NAME = "weights.npz"  # looked up inside WEIGHTS_PATH when that is a directory


class ConfigError(ValueError):
    """The environment does not describe a valid server."""


class ModelLoadError(RuntimeError):
    """The weights file could not be turned into a usable model."""


class RequestError(Exception):
    """A client error, answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- configuration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 8000
    metrics_port: int | None = None  # None: /metrics on ``port``
    model_name: str = "mlp"
    weights_path: Path = Path("/models/weights.npz")
    precision: str = "fp32"
    max_request_bytes: int = 1 << 20

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        precision = _first(env, "PRECISION", "MODEL_PRECISION", default=cls.precision).strip().lower()
        if precision not in PRECISIONS:
            raise ConfigError(f"PRECISION must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        port = _port(env, "PORT", cls.port)
        metrics_port = _port(env, "METRICS_PORT", port) if env.get("METRICS_PORT") else None
        model_name = env.get("MODEL_NAME", cls.model_name)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", model_name):
            raise ConfigError(f"MODEL_NAME must be a URL-safe name, got {model_name!r}")
        return cls(
            host=env.get("HOST", cls.host),
            port=port,
            # The same non-zero port means one listener; port 0 twice means two free ports.
            metrics_port=None if metrics_port == port != 0 else metrics_port,
            model_name=model_name,
            weights_path=Path(
                _first(env, "WEIGHTS_PATH", "MODEL_WEIGHTS_PATH", default=str(cls.weights_path))
            ),
            precision=precision,
            max_request_bytes=_int(env, "MAX_REQUEST_BYTES", cls.max_request_bytes),
        )


def _first(env: Mapping[str, str], *keys: str, default: str) -> str:
    return next((env[key] for key in keys if env.get(key)), default)


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be an integer, got {raw!r}") from None


def _port(env: Mapping[str, str], key: str, default: int) -> int:
    value = _int(env, key, default)
    if not 0 <= value <= 65535:
        raise ConfigError(f"{key} must be 0..65535, got {value}")
    return value


# --- model -----------------------------------------------------------------------------------------


def to_bfloat16(values: Array) -> npt.NDArray[np.float32]:
    """Rounds float32 values to the nearest bfloat16 (kept in float32: NumPy has no bfloat16)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounding = np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))
    return ((bits + rounding) & np.uint32(0xFFFF0000)).view(np.float32)


@dataclass(frozen=True)
class Mlp:
    """relu(x @ w1 + b1) @ w2 + b2, computed in the dtype of the weights."""

    w1: Array
    b1: Array
    w2: Array
    b2: Array
    golden_input: Array

    @property
    def input_dim(self) -> int:
        return int(self.w1.shape[0])

    @property
    def output_dim(self) -> int:
        return int(self.w2.shape[1])

    def predict(self, batch: Array) -> npt.NDArray[np.float32]:
        x = batch.astype(self.w1.dtype)
        hidden = np.maximum(x @ self.w1 + self.b1, 0)
        return (hidden @ self.w2 + self.b2).astype(np.float32)

    @classmethod
    def load(cls, path: Path, precision: str) -> Mlp:
        if path.is_dir():  # a mounted volume rather than the file itself
            path = path / WEIGHTS_FILE_NAME
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {name: np.asarray(npz[name], dtype=np.float32) for name in _WEIGHT_NAMES}
        except KeyError as exc:
            raise ModelLoadError(f"weights file {path} lacks array {exc}") from None
        except (OSError, ValueError) as exc:  # missing, unreadable, not an npz
            raise ModelLoadError(f"cannot read weights file {path}: {exc}") from None
        _check_shapes(arrays)
        return cls(**{name: _cast(value, precision) for name, value in arrays.items()})


_WEIGHT_NAMES = ("w1", "b1", "w2", "b2", "golden_input")


def _cast(values: npt.NDArray[np.float32], precision: str) -> Array:
    if precision == "fp16":  # overflows to inf beyond 65504, on purpose: that is what fp16 does
        with np.errstate(over="ignore"):
            return values.astype(np.float16)
    if precision == "bf16":
        return to_bfloat16(values)
    return values


def _check_shapes(arrays: Mapping[str, Array]) -> None:
    w1, b1, w2, b2, golden = (arrays[name] for name in _WEIGHT_NAMES)
    consistent = (
        w1.ndim == 2
        and w2.ndim == 2
        and b1.shape == (w1.shape[1],)
        and w2.shape[0] == w1.shape[1]
        and b2.shape == (w2.shape[1],)
        and golden.shape == (1, w1.shape[0])
    )
    if not consistent:
        shapes = {name: arrays[name].shape for name in _WEIGHT_NAMES}
        raise ModelLoadError(f"inconsistent weight shapes: {shapes}")


# --- metrics ---------------------------------------------------------------------------------------


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


# --- application -----------------------------------------------------------------------------------


@dataclass
class ModelServer:
    """Routes requests to the model; HTTP plumbing lives in ``Handler``."""

    settings: Settings
    metrics: Metrics = field(init=False)
    _model: Mlp | None = field(default=None, init=False)
    _not_ready_reason: str = field(default="not loaded yet", init=False)
    _load_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    # One model instance, like Triton's default instance count: requests queue for it.
    _infer_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.metrics = Metrics(self.settings.model_name)

    # Readiness ---------------------------------------------------------------------------------

    def readiness(self) -> tuple[bool, str]:
        """(ready, reason). Retries loading while not ready: weights may be mounted late."""
        with self._load_lock:
            if self._model is None:
                self._try_load()
            return self._model is not None, self._not_ready_reason

    def _try_load(self) -> None:
        settings = self.settings
        try:
            model = Mlp.load(settings.weights_path, settings.precision)
        except ModelLoadError as exc:
            self._set_not_ready(str(exc))
            return
        with np.errstate(all="ignore"):
            golden = model.predict(model.golden_input)
        if not np.isfinite(golden).all():
            self._set_not_ready(f"golden input gives a non-finite output at precision {settings.precision}")
            return
        self._model, self._not_ready_reason = model, ""
        LOG.info("model %s ready (precision %s)", settings.model_name, settings.precision)

    def _set_not_ready(self, reason: str) -> None:
        if reason != self._not_ready_reason:  # log changes, not every probe
            LOG.warning("not ready: %s", reason)
        self._not_ready_reason = reason

    # Routes ------------------------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        model = self._ready_model()
        return {
            "name": self.settings.model_name,
            "versions": ["1"],
            "platform": "numpy_mlp",
            "inputs": [{"name": INPUT_NAME, "datatype": "FP32", "shape": [-1, model.input_dim]}],
            "outputs": [{"name": OUTPUT_NAME, "datatype": "FP32", "shape": [-1, model.output_dim]}],
        }

    def infer(self, body: bytes) -> dict[str, Any]:
        """Runs one KServe-v2 inference request; counts it as a success or a failure."""
        started = time.perf_counter()
        try:
            response = self._infer(body)
        except Exception:
            self.metrics.triton.add(FAILURE_METRIC)
            raise
        else:
            self.metrics.triton.add(SUCCESS_METRIC)
            return response
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.latency.observe(elapsed)
            self.metrics.triton.add(REQUEST_US_METRIC, elapsed * 1e6)

    def _infer(self, body: bytes) -> dict[str, Any]:
        model = self._ready_model()
        request = _parse_json(body)
        batch = _input_batch(request, model.input_dim)
        # Overflow is reported below as a refused output, not as a NumPy warning.
        with self._queued(), np.errstate(all="ignore"):
            computing_from = time.perf_counter()
            output = model.predict(batch)
            self.metrics.triton.add(COMPUTE_US_METRIC, (time.perf_counter() - computing_from) * 1e6)
            self.metrics.triton.add(INFERENCE_COUNT_METRIC, len(batch))
        if not np.isfinite(output).all():
            self.metrics.nonfinite.inc()
            raise RequestError(HTTPStatus.INTERNAL_SERVER_ERROR, "model produced a non-finite output")
        response: dict[str, Any] = {
            "model_name": self.settings.model_name,
            "model_version": "1",
            "outputs": [
                {
                    "name": OUTPUT_NAME,
                    "shape": list(output.shape),
                    "datatype": "FP32",
                    "data": output.ravel().tolist(),
                }
            ],
        }
        if isinstance(request.get("id"), str):
            response["id"] = request["id"]
        return response

    @contextmanager
    def _queued(self) -> Iterator[None]:
        """Holds the model; time spent waiting for it is the queue (pending gauge, queue counter)."""
        self.metrics.pending.inc()
        waited_from = time.perf_counter()
        try:
            self._infer_lock.acquire()
        finally:
            self.metrics.pending.dec()
        self.metrics.triton.add(QUEUE_US_METRIC, (time.perf_counter() - waited_from) * 1e6)
        try:
            yield
        finally:
            self._infer_lock.release()

    def _ready_model(self) -> Mlp:
        ready, reason = self.readiness()
        if not ready or self._model is None:
            raise RequestError(HTTPStatus.SERVICE_UNAVAILABLE, f"model not ready: {reason}")
        return self._model


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        request = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {exc}") from None
    if not isinstance(request, dict):
        raise RequestError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
    return request


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _input_batch(request: Mapping[str, Any], input_dim: int) -> npt.NDArray[np.float32]:
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise RequestError(HTTPStatus.BAD_REQUEST, '"inputs" must be a non-empty list')
    tensor = next((t for t in inputs if isinstance(t, dict) and t.get("name") == INPUT_NAME), None)
    if tensor is None:
        raise RequestError(HTTPStatus.BAD_REQUEST, f'no input named "{INPUT_NAME}"')
    if tensor.get("datatype") != "FP32":
        raise RequestError(HTTPStatus.BAD_REQUEST, f'datatype must be "FP32", got {tensor.get("datatype")!r}')
    shape = tensor.get("shape")
    valid_shape = bool(
        isinstance(shape, list)
        and len(shape) == 2
        and all(isinstance(d, int) and not isinstance(d, bool) for d in shape)
        and 1 <= shape[0] <= MAX_BATCH
        and shape[1] == input_dim
    )
    if not valid_shape:
        raise RequestError(
            HTTPStatus.BAD_REQUEST, f"shape must be [1..{MAX_BATCH}, {input_dim}], got {shape!r}"
        )
    shape = cast(list[int], shape)
    try:
        with np.errstate(over="ignore"):  # beyond float32 range becomes inf, refused below
            data = np.asarray(tensor.get("data"), dtype=np.float32)
    except (TypeError, ValueError):
        raise RequestError(HTTPStatus.BAD_REQUEST, '"data" must be a list of numbers') from None
    if data.size != shape[0] * shape[1]:
        raise RequestError(
            HTTPStatus.BAD_REQUEST, f'"data" has {data.size} values, shape {shape} needs {math.prod(shape)}'
        )
    if not np.isfinite(data).all():
        raise RequestError(HTTPStatus.BAD_REQUEST, '"data" must be finite (float32 range)')
    return data.reshape(shape)


# --- HTTP ------------------------------------------------------------------------------------------


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client must not block shutdown
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: ModelServer, serve_metrics_only: bool) -> None:
        super().__init__(address, Handler)
        self.app = app
        self.serve_metrics_only = serve_metrics_only

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "modelstack-model-server/1"

    @property
    def _server(self) -> HttpServer:
        return cast(HttpServer, self.server)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            self._route(method, self.path.split("?", 1)[0])
        except RequestError as exc:
            self._send_json(exc.status, {"error": exc.message})
        except Exception:  # a bug must cost one request, not the connection thread's silence
            LOG.exception("unhandled error on %s %s", method, self.path)
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})

    def _route(self, method: str, path: str) -> None:
        app = self._server.app
        if path == METRICS_PATH and (self._server.serve_metrics_only or app.settings.metrics_port is None):
            self._require(method, "GET")
            self._send(HTTPStatus.OK, app.metrics.render(), METRICS_CONTENT_TYPE)
        elif self._server.serve_metrics_only:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no route {path} (this port serves {METRICS_PATH})")
        elif path == LIVE_PATH:
            self._require(method, "GET")
            self._send_json(HTTPStatus.OK, {"live": True})
        elif path == READY_PATH:
            self._require(method, "GET")
            self._send_readiness()
        elif match := _MODEL_ROUTE.match(path):
            self._model_route(method, match["name"], match["rest"] or "")
        else:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no route {path}")

    def _model_route(self, method: str, name: str, rest: str) -> None:
        app = self._server.app
        if name != app.settings.model_name:
            raise RequestError(HTTPStatus.NOT_FOUND, f"unknown model {name!r}")
        if rest == "/infer":
            self._require(method, "POST")
            self._send_json(HTTPStatus.OK, app.infer(self._read_body()))
        elif rest == "/ready":
            self._require(method, "GET")
            self._send_readiness()
        else:
            self._require(method, "GET")
            self._send_json(HTTPStatus.OK, app.metadata())

    def _send_readiness(self) -> None:
        ready, reason = self._server.app.readiness()
        if ready:
            self._send_json(HTTPStatus.OK, {"ready": True})
        else:
            self._send_json(HTTPStatus.SERVICE_UNAVAILABLE, {"ready": False, "reason": reason})

    def _require(self, method: str, allowed: str) -> None:
        if method != allowed:
            raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED, f"use {allowed}")

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
        if int(length) > self._server.app.settings.max_request_bytes:
            self.close_connection = True  # the unread body would be parsed as the next request
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large")
        return self.rfile.read(int(length))

    def _send_json(self, status: HTTPStatus, payload: Mapping[str, Any]) -> None:
        self._send(status, json.dumps(payload, allow_nan=False).encode(), "application/json")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s " + format, self.address_string(), *args)


# --- process ---------------------------------------------------------------------------------------


def start(settings: Settings) -> list[HttpServer]:
    """Binds the ports and serves in background threads; the first server carries the API."""
    app = ModelServer(settings)
    servers = [HttpServer((settings.host, settings.port), app, serve_metrics_only=False)]
    if settings.metrics_port is not None:
        servers.append(HttpServer((settings.host, settings.metrics_port), app, serve_metrics_only=True))
    for server in servers:
        # A short poll interval keeps shutdown() (SIGTERM, test teardown) quick.
        serve = functools.partial(server.serve_forever, poll_interval=0.1)
        threading.Thread(target=serve, name=f"http-{server.port}", daemon=True).start()
    app.readiness()  # load eagerly so the log says at once whether the model is usable
    return servers


def stop(servers: list[HttpServer]) -> None:
    for server in servers:
        server.shutdown()
        server.server_close()


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    logging.basicConfig(
        level=env.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    stopping = threading.Event()
    _on_signals(stopping.set)  # before binding: PID 1 in a container ignores SIGTERM without a handler
    # *_created series are noise for scrapers; the switch is process-wide, so it lives only here.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    try:
        settings = Settings.from_env(env)
        servers = start(settings)
    except (ConfigError, OSError) as exc:
        LOG.error("cannot start: %s", exc)
        return 2
    for server in servers:
        role = "metrics" if server.serve_metrics_only else "api"
        LOG.info("listening (%s) on http://%s:%d", role, settings.host, server.port)
    stopping.wait()
    LOG.info("shutting down")
    stop(servers)
    return 0


def _on_signals(callback: Callable[[], None]) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: callback())


if __name__ == "__main__":
    raise SystemExit(main())
