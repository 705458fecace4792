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

This file is the process: it reads the environment, binds the listeners and serves until SIGTERM. What it
serves lives in the ``mlp_server`` package beside it (one module per idea, mapped in its docstring). The
names tests and tools use (``Settings``, ``Mlp``, ``to_bfloat16``, ``start``, ``stop``, ``main``) are
importable from here.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping

from mlp_server.app import ModelServer
from mlp_server.config import ConfigError, Settings
from mlp_server.http_server import HttpServer
from mlp_server.model import Mlp, to_bfloat16
from prometheus_client import disable_created_metrics

__all__ = ["Mlp", "Settings", "main", "start", "stop", "to_bfloat16"]

LOG = logging.getLogger("model-server")  # one logger for the whole server


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
