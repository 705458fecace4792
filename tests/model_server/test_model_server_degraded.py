"""The example server's deliberately degraded modes, which the release loop's tests roll back."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[2] / "examples" / "model-server" / "golden.json"


def golden_rows(count: int = 64) -> tuple[list[list[float]], list[int]]:
    examples = json.loads(GOLDEN.read_text(encoding="utf-8"))["examples"][:count]
    return [e["input"] for e in examples], [e["label"] for e in examples]


def top_classes(reply_json: dict, width: int = 4) -> list[int]:
    data = reply_json["outputs"][0]["data"]
    rows = [data[i : i + width] for i in range(0, len(data), width)]
    return [max(range(width), key=row.__getitem__) for row in rows]


def test_the_golden_set_labels_are_what_the_reviewed_weights_answer(
    start_server, weights_file, http, infer_payload
):
    url = start_server(weights_path=weights_file)
    rows, labels = golden_rows()

    reply = http("POST", f"{url}/v2/models/mlp/infer", infer_payload(rows))

    assert top_classes(reply.json()) == labels


def test_degraded_predictions_change_the_top_class_of_about_that_share(
    start_server, weights_file, http, infer_payload
):
    url = start_server(weights_path=weights_file, degrade_predictions=0.2)
    rows, labels = golden_rows()

    answered = top_classes(http("POST", f"{url}/v2/models/mlp/infer", infer_payload(rows)).json())

    wrong = sum(a != b for a, b in zip(answered, labels, strict=True))
    assert 0.1 * len(rows) <= wrong <= 0.3 * len(rows)


def test_degraded_predictions_are_the_same_for_the_same_input(
    start_server, weights_file, http, infer_payload
):
    url = start_server(weights_path=weights_file, degrade_predictions=0.5)
    body = infer_payload(golden_rows(16)[0])

    first = http("POST", f"{url}/v2/models/mlp/infer", body).json()
    second = http("POST", f"{url}/v2/models/mlp/infer", body).json()

    assert first["outputs"] == second["outputs"]


def test_added_latency_delays_every_inference_and_shows_in_the_histogram(
    start_server, weights_file, http, infer_payload
):
    url = start_server(weights_path=weights_file, added_latency_ms=300)

    started = time.perf_counter()
    reply = http("POST", f"{url}/v2/models/mlp/infer", infer_payload([[0.0] * 16]))
    elapsed = time.perf_counter() - started
    metrics = http("GET", f"{url}/metrics").text

    assert reply.status == 200 and elapsed >= 0.3
    assert 'modelstack_inference_request_duration_seconds_bucket{le="0.25",model="mlp"} 0.0' in metrics


@pytest.mark.parametrize(
    ("name", "value"),
    [("DEGRADE_PREDICTIONS", "1.5"), ("DEGRADE_PREDICTIONS", "lots"), ("ADDED_LATENCY_MS", "-1")],
)
def test_invalid_degradation_exits_with_code_2_and_says_why(spawn_server, weights_file, name, value):
    server = spawn_server({"WEIGHTS_PATH": str(weights_file), name: value}, roles=frozenset())

    assert server.proc.wait(timeout=20) == 2
    assert name in server.drain()
