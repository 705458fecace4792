"""Routes of the example model server (in-process, 127.0.0.1, free port)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

INPUT_DIM = 16
OUTPUT_DIM = 4


@pytest.fixture
def url(start_server: Callable[..., str], weights_file: Path) -> str:
    return start_server(weights_path=weights_file)


def test_live_answers_200(url, http):
    assert http("GET", f"{url}/v2/health/live").status == 200


def test_live_answers_200_even_when_the_model_is_not_ready(start_server, tmp_path, http):
    url = start_server(weights_path=tmp_path / "missing.npz")

    assert http("GET", f"{url}/v2/health/live").status == 200


def test_ready_answers_200_when_the_weights_load_and_the_golden_output_is_finite(url, http):
    reply = http("GET", f"{url}/v2/health/ready")

    assert (reply.status, reply.json()) == (200, {"ready": True})


def test_model_ready_route_follows_server_readiness(url, http):
    assert http("GET", f"{url}/v2/models/mlp/ready").status == 200


def test_infer_returns_one_output_row_per_input_row(url, http, infer_payload):
    reply = http("POST", f"{url}/v2/models/mlp/infer", infer_payload([[0.1] * INPUT_DIM] * 3))

    assert reply.status == 200
    [output] = reply.json()["outputs"]
    assert output["name"] == "output"
    assert output["datatype"] == "FP32"
    assert output["shape"] == [3, OUTPUT_DIM]
    assert len(output["data"]) == 3 * OUTPUT_DIM


def test_infer_is_deterministic_for_the_same_input(url, http, infer_payload):
    body = infer_payload([[0.5] * INPUT_DIM])

    first = http("POST", f"{url}/v2/models/mlp/infer", body).json()
    second = http("POST", f"{url}/v2/models/mlp/infer", body).json()

    assert first["outputs"] == second["outputs"]


def test_infer_echoes_the_request_id(url, http, infer_payload):
    body = {**infer_payload([[0.0] * INPUT_DIM]), "id": "req-42"}

    assert http("POST", f"{url}/v2/models/mlp/infer", body).json()["id"] == "req-42"


def test_infer_for_another_model_name_is_404(url, http, infer_payload):
    reply = http("POST", f"{url}/v2/models/other/infer", infer_payload([[0.0] * INPUT_DIM]))

    assert reply.status == 404


@pytest.mark.parametrize(
    ("tensor_patch", "message"),
    [
        ({"shape": [1, INPUT_DIM + 1]}, "shape"),
        ({"datatype": "INT32"}, "datatype"),
        ({"name": "x"}, "no input named"),
        ({"data": [0.0] * (INPUT_DIM - 1)}, "values"),
        ({"data": ["a"] * INPUT_DIM}, "numbers"),
        ({"data": [1e39] * INPUT_DIM}, "finite"),
    ],
)
def test_infer_rejects_a_malformed_tensor_with_400(url, http, infer_payload, tensor_patch, message):
    body = infer_payload([[0.0] * INPUT_DIM])
    body["inputs"][0].update(tensor_patch)

    reply = http("POST", f"{url}/v2/models/mlp/infer", body)

    assert reply.status == 400
    assert message in reply.json()["error"]


def test_infer_rejects_a_body_that_is_not_json_with_400(url, http):
    assert http("POST", f"{url}/v2/models/mlp/infer", raw=b"{not json").status == 400


def test_infer_rejects_a_body_over_the_size_limit_with_413(start_server, weights_file, http):
    url = start_server(weights_path=weights_file, max_request_bytes=64)

    assert http("POST", f"{url}/v2/models/mlp/infer", raw=b" " * 65).status == 413


def test_infer_while_not_ready_is_503(start_server, tmp_path, http, infer_payload):
    url = start_server(weights_path=tmp_path / "missing.npz")

    reply = http("POST", f"{url}/v2/models/mlp/infer", infer_payload([[0.0] * INPUT_DIM]))

    assert reply.status == 503


def test_model_metadata_describes_input_and_output_tensors(url, http):
    metadata = http("GET", f"{url}/v2/models/mlp").json()

    assert metadata["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, INPUT_DIM]}]
    assert metadata["outputs"] == [{"name": "output", "datatype": "FP32", "shape": [-1, OUTPUT_DIM]}]


def test_unknown_path_is_404(url, http):
    assert http("GET", f"{url}/v1/models/mlp").status == 404


def test_wrong_method_is_405(url, http):
    assert http("POST", f"{url}/v2/health/live", raw=b"").status == 405
