"""make_weights.py: a deterministic weights file the server can load."""

from __future__ import annotations

import numpy as np


def test_same_seed_gives_byte_identical_files(weights_module, tmp_path):
    first = weights_module.make_weights(tmp_path / "a.npz")
    second = weights_module.make_weights(tmp_path / "b.npz")

    assert first.read_bytes() == second.read_bytes()


def test_another_seed_gives_other_weights(weights_module, tmp_path):
    default = weights_module.make_weights(tmp_path / "a.npz")
    other = weights_module.make_weights(tmp_path / "b.npz", seed=1)

    assert default.read_bytes() != other.read_bytes()


def test_file_loads_with_numpy_as_float32_arrays_of_consistent_shapes(weights_module, tmp_path):
    path = weights_module.make_weights(tmp_path / "weights.npz")

    with np.load(path, allow_pickle=False) as npz:
        shapes = {name: npz[name].shape for name in npz.files}
        dtypes = {npz[name].dtype for name in npz.files}

    assert shapes == {"w1": (16, 32), "b1": (32,), "w2": (32, 4), "b2": (4,), "golden_input": (1, 16)}
    assert dtypes == {np.dtype(np.float32)}


def test_scale_multiplies_every_weight(weights_module, tmp_path):
    base = weights_module.make_arrays()
    scaled = weights_module.make_arrays(scale=10.0)

    np.testing.assert_allclose(scaled["w1"], base["w1"] * 10.0, rtol=1e-6)
    np.testing.assert_array_equal(scaled["golden_input"], base["golden_input"])


def test_cli_writes_the_file_it_prints(weights_module, tmp_path, capsys):
    target = tmp_path / "out" / "weights.npz"

    assert weights_module.main(["--output", str(target)]) == 0

    assert capsys.readouterr().out.strip() == str(target)
    assert target.is_file()
