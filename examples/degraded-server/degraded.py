"""The example model server, deliberately degraded: for release-loop tests and drills, never shipped.

Runs examples/model-server/server.py unchanged (same routes, metrics and environment) with two faults
switched on by environment variables:

  DEGRADE_PREDICTIONS (0..1, default 0)  rotates the class scores of that share of inputs by one, so
                                         their top class changes; inputs are chosen by a hash of their
                                         bytes, so the same input is always degraded or never
  ADDED_LATENCY_MS (0..60000, default 0) sleeps that long in every inference request, before it queues
                                         for the model (concurrent requests are delayed side by side)

A separate entry point rather than a switch in server.py: the served image cannot be degraded by a
stray environment variable, and the server's build context (and so its released image) is untouched.
Exit code 2 for an invalid value, like the server's own configuration errors.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

SERVER = Path(__file__).resolve().parents[1] / "model-server" / "server.py"
LOG = logging.getLogger("degraded-server")


def load_server() -> ModuleType:
    # server.py imports its package `mlp_server` from its own directory, as `python server.py` would.
    if str(SERVER.parent) not in sys.path:
        sys.path.insert(0, str(SERVER.parent))
    spec = importlib.util.spec_from_file_location("modelstack_example_server_degraded", SERVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def _number(env: Mapping[str, str], key: str, low: float, high: float) -> float:
    raw = env.get(key, "")
    try:
        value = float(raw) if raw else low
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise ValueError(f"{key} must be a number from {low:g} to {high:g}, got {raw!r}")
    return value


def rotate_share(batch: Any, output: Any, share: float) -> Any:
    """`output` with the class scores of `share` of the rows rotated by one (their top class changes)."""
    if share <= 0:
        return output
    out = np.array(output, copy=True)
    for i, row in enumerate(np.ascontiguousarray(batch, dtype=np.float32)):
        if zlib.crc32(row.tobytes()) % 10000 < share * 10000:
            out[i] = np.roll(out[i], 1)
    return out


def degrade(server: ModuleType, share: float, latency_ms: float) -> None:
    """Patch the loaded server module: predictions through `rotate_share`, requests delayed."""
    predict, infer = server.Mlp.predict, server.ModelServer._infer

    def degraded_predict(self: Any, batch: Any) -> Any:
        return rotate_share(batch, predict(self, batch), share)

    def delayed_infer(self: Any, body: bytes) -> Any:
        if latency_ms:
            time.sleep(latency_ms / 1000)
        return infer(self, body)

    server.Mlp.predict = degraded_predict
    server.ModelServer._infer = delayed_infer


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    try:
        share = _number(env, "DEGRADE_PREDICTIONS", 0.0, 1.0)
        latency_ms = _number(env, "ADDED_LATENCY_MS", 0.0, 60000.0)
    except ValueError as err:
        logging.basicConfig(stream=sys.stderr)
        LOG.error("cannot start: %s", err)
        return 2
    server = load_server()
    degrade(server, share, latency_ms)
    return int(server.main(env))


if __name__ == "__main__":
    raise SystemExit(main())
