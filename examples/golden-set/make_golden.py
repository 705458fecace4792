"""Writes the example model's labelled golden set (``golden.json``) for the release loop's quality gate.

The example MLP has no training task, so its labels are the classes the reviewed weights (``make_weights.py``
defaults, fp32) assign: the golden set pins the released behaviour, and a version that answers differently
loses accuracy. Inputs whose two best classes are closer than ``MARGIN`` are skipped, so rounding (fp16,
bf16) never flips a label by itself. Deterministic: the same arguments write the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

# The example server's weights, from its own generator (examples/model-server is a separate build context).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "model-server"))
from make_weights import INPUT_DIM, make_arrays

DEFAULT_PATH = Path(__file__).resolve().parent / "golden.json"
SEED = 20261202
EXAMPLES = 200
MARGIN = 0.25


def make_golden(examples: int = EXAMPLES, seed: int = SEED) -> dict[str, object]:
    arrays = make_arrays()
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    while len(rows) < examples:
        x = np.round(rng.uniform(-1.0, 1.0, INPUT_DIM), 4).astype(np.float32)
        hidden = np.maximum(x @ arrays["w1"] + arrays["b1"], 0)
        logits = hidden @ arrays["w2"] + arrays["b2"]
        first, second = np.sort(logits)[::-1][:2]
        if first - second < MARGIN:
            continue
        rows.append({"input": [round(float(v), 4) for v in x], "label": int(np.argmax(logits))})
    return {"model": "mlp", "input": "input", "classes": int(arrays["b2"].shape[0]), "examples": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=DEFAULT_PATH, help="default: %(default)s")
    args = parser.parse_args(argv)
    args.output.write_text(
        json.dumps(make_golden(), indent=None, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    print(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
