"""The application: ``ModelServer`` loads the model when asked whether it is ready, answers metadata and
inference requests, and counts each request in its metrics. It knows nothing of HTTP."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import numpy as np

from .config import Settings
from .metrics import (
    COMPUTE_US_METRIC,
    FAILURE_METRIC,
    INFERENCE_COUNT_METRIC,
    QUEUE_US_METRIC,
    REQUEST_US_METRIC,
    SUCCESS_METRIC,
    Metrics,
)
from .model import Mlp, ModelLoadError
from .protocol import INPUT_NAME, OUTPUT_NAME, RequestError, input_batch, parse_json

LOG = logging.getLogger("model-server")  # one logger for the whole server


@dataclass
class ModelServer:
    """Routes requests to the model; HTTP plumbing lives in ``http_server.Handler``."""

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
        request = parse_json(body)
        batch = input_batch(request, model.input_dim)
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
