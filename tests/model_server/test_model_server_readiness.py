"""Readiness: 200 only when the weights load and the golden input gives a finite output."""

from __future__ import annotations

# Weight scale at which fp16 overflows (|activations| > 65504) while fp32 stays finite.
OVERFLOWING_SCALE = 1e3


def test_not_ready_when_the_weights_file_is_missing(start_server, tmp_path, http):
    url = start_server(weights_path=tmp_path / "missing.npz")

    reply = http("GET", f"{url}/v2/health/ready")

    assert reply.status == 503
    assert reply.json()["ready"] is False
    assert "cannot read weights file" in reply.json()["reason"]


def test_not_ready_when_the_weights_file_is_unreadable(
    spawn_server, weights_file, without_file_permission_override, http
):
    weights_file.chmod(0o000)
    server = spawn_server({"WEIGHTS_PATH": str(weights_file)}, prefix=without_file_permission_override)

    reply = http("GET", f"{server.urls['api']}/v2/health/ready")

    assert reply.status == 503
    assert "Permission denied" in reply.json()["reason"]


def test_not_ready_when_the_weights_file_is_not_an_npz(start_server, tmp_path, http):
    garbage = tmp_path / "weights.npz"
    garbage.write_bytes(b"not a zip")
    url = start_server(weights_path=garbage)

    assert http("GET", f"{url}/v2/health/ready").status == 503


def test_not_ready_when_the_golden_output_is_not_finite(start_server, make_weights, http):
    url = start_server(weights_path=make_weights(scale=OVERFLOWING_SCALE), precision="fp16")

    reply = http("GET", f"{url}/v2/health/ready")

    assert reply.status == 503
    assert "non-finite" in reply.json()["reason"]


def test_the_same_large_weights_are_ready_in_fp32(start_server, make_weights, http):
    url = start_server(weights_path=make_weights(scale=OVERFLOWING_SCALE), precision="fp32")

    assert http("GET", f"{url}/v2/health/ready").status == 200


def test_bf16_keeps_fp32_range_so_large_weights_stay_ready(start_server, make_weights, http):
    url = start_server(weights_path=make_weights(scale=OVERFLOWING_SCALE), precision="bf16")

    assert http("GET", f"{url}/v2/health/ready").status == 200


def test_becomes_ready_once_weights_appear(start_server, tmp_path, make_weights, http):
    path = tmp_path / "late.npz"
    url = start_server(weights_path=path)
    assert http("GET", f"{url}/v2/health/ready").status == 503

    make_weights(name="late.npz")

    assert http("GET", f"{url}/v2/health/ready").status == 200


def test_a_weights_directory_means_the_weights_file_inside_it(start_server, weights_file, http):
    url = start_server(weights_path=weights_file.parent)

    assert http("GET", f"{url}/v2/health/ready").status == 200
