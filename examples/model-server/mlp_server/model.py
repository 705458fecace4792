"""The model: a NumPy MLP read from ``weights.npz``, its shape checks, and the fp32/fp16/bf16 casts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating[Any]]

WEIGHTS_FILE_NAME = "weights.npz"  # looked up inside WEIGHTS_PATH when that is a directory


class ModelLoadError(RuntimeError):
    """The weights file could not be turned into a usable model."""


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
