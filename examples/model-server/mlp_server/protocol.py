"""The KServe-v2 wire format: an inference request's JSON, checked into a float32 batch, and the client
errors (``RequestError``) a bad request is answered with."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, cast

import numpy as np
import numpy.typing as npt

INPUT_NAME = "input"
OUTPUT_NAME = "output"
MAX_BATCH = 64


class RequestError(Exception):
    """A client error, answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        request = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {exc}") from None
    if not isinstance(request, dict):
        raise RequestError(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
    return request


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def input_batch(request: Mapping[str, Any], input_dim: int) -> npt.NDArray[np.float32]:
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
