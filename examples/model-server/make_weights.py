"""Writes the example MLP's weights file (``weights.npz``) deterministically.

The same arguments give the same bytes (fixed seed, fixed zip timestamps), so the file can be
content-addressed like any other release artifact. ``--scale`` multiplies every weight: a large
scale is how tests provoke fp16 overflow (non-finite outputs) while fp32 stays finite.

Arrays: ``w1`` (input, hidden), ``b1`` (hidden), ``w2`` (hidden, output), ``b2`` (output) and
``golden_input`` (1, input), the input the server's readiness check runs.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

DEFAULT_PATH = Path(__file__).resolve().parent / "model" / "weights.npz"
DEFAULT_SEED = 20240607
INPUT_DIM = 16
HIDDEN_DIM = 32
OUTPUT_DIM = 4
# np.savez stamps the current time into the zip; a fixed stamp makes the file reproducible.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)


def make_arrays(
    *,
    seed: int = DEFAULT_SEED,
    input_dim: int = INPUT_DIM,
    hidden_dim: int = HIDDEN_DIM,
    output_dim: int = OUTPUT_DIM,
    scale: float = 1.0,
) -> dict[str, np.ndarray]:
    """He-style initialised two-layer MLP plus its golden input, all float32."""
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((input_dim, hidden_dim)) * np.sqrt(2.0 / input_dim) * scale
    w2 = rng.standard_normal((hidden_dim, output_dim)) * np.sqrt(2.0 / hidden_dim) * scale
    b1 = rng.standard_normal(hidden_dim) * 0.01 * scale
    b2 = rng.standard_normal(output_dim) * 0.01 * scale
    golden_input = np.linspace(-1.0, 1.0, input_dim).reshape(1, input_dim)
    arrays = {"w1": w1, "b1": b1, "w2": w2, "b2": b2, "golden_input": golden_input}
    return {name: value.astype(np.float32) for name, value in arrays.items()}


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Writes ``arrays`` as an .npz readable by ``np.load``, byte-for-byte reproducibly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE_TIME), buffer.getvalue())
    tmp.replace(path)  # readers never see a half-written file
    return path


def make_weights(path: Path = DEFAULT_PATH, *, seed: int = DEFAULT_SEED, scale: float = 1.0) -> Path:
    return write_npz(path, make_arrays(seed=seed, scale=scale))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=DEFAULT_PATH, help="default: %(default)s")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every weight")
    args = parser.parse_args(argv)
    print(make_weights(args.output, seed=args.seed, scale=args.scale))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
