"""Settings: what the environment says the server is (address, ports, model name, weights, precision)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PRECISIONS = ("fp32", "fp16", "bf16")


class ConfigError(ValueError):
    """The environment does not describe a valid server."""


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
