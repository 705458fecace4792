"""Precision handling in the model (no HTTP)."""

from __future__ import annotations

import numpy as np


def test_bf16_rounding_keeps_8_significant_bits(server_module):
    values = np.array([1.0, 1.0 + 2**-8, 1.0 + 2**-7, 3.0e38], dtype=np.float32)

    rounded = server_module.to_bfloat16(values)

    assert rounded.tolist()[:3] == [1.0, 1.0, 1.0 + 2**-7]
    assert np.isfinite(rounded[3])


def test_fp16_model_computes_in_float16(server_module, weights_file):
    model = server_module.Mlp.load(weights_file, "fp16")

    assert model.w1.dtype == np.float16


def test_precisions_agree_closely_on_the_golden_input(server_module, weights_file):
    outputs = {
        precision: server_module.Mlp.load(weights_file, precision).predict(
            np.linspace(-1, 1, 16, dtype=np.float32).reshape(1, 16)
        )
        for precision in ("fp32", "fp16", "bf16")
    }

    np.testing.assert_allclose(outputs["fp16"], outputs["fp32"], atol=2e-2)
    np.testing.assert_allclose(outputs["bf16"], outputs["fp32"], atol=5e-2)
