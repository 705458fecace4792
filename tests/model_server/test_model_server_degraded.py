"""The deliberately degraded example server (examples/degraded-server), which the release loop's tests
roll back: the same server, predictions rotated for a share of inputs, or every request delayed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "examples" / "golden-set" / "golden.json"
DEGRADED = ROOT / "examples" / "degraded-server" / "degraded.py"


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
    spawn_server, weights_file, http, infer_payload
):
    server = spawn_server({"WEIGHTS_PATH": str(weights_file), "DEGRADE_PREDICTIONS": "0.2"}, script=DEGRADED)
    rows, labels = golden_rows()

    answered = top_classes(
        http("POST", f"{server.urls['api']}/v2/models/mlp/infer", infer_payload(rows)).json()
    )

    wrong = sum(a != b for a, b in zip(answered, labels, strict=True))
    assert 0.1 * len(rows) <= wrong <= 0.3 * len(rows)


def test_degraded_predictions_are_the_same_for_the_same_input(
    spawn_server, weights_file, http, infer_payload
):
    server = spawn_server({"WEIGHTS_PATH": str(weights_file), "DEGRADE_PREDICTIONS": "0.5"}, script=DEGRADED)
    body = infer_payload(golden_rows(16)[0])

    first = http("POST", f"{server.urls['api']}/v2/models/mlp/infer", body).json()
    second = http("POST", f"{server.urls['api']}/v2/models/mlp/infer", body).json()

    assert first["outputs"] == second["outputs"]


def test_added_latency_delays_every_inference_and_shows_in_the_histogram(
    spawn_server, weights_file, http, infer_payload
):
    server = spawn_server({"WEIGHTS_PATH": str(weights_file), "ADDED_LATENCY_MS": "300"}, script=DEGRADED)
    url = server.urls["api"]

    started = time.perf_counter()
    reply = http("POST", f"{url}/v2/models/mlp/infer", infer_payload([[0.0] * 16]))
    elapsed = time.perf_counter() - started
    metrics = http("GET", f"{url}/metrics").text

    assert reply.status == 200 and elapsed >= 0.3
    assert 'modelstack_inference_request_duration_seconds_bucket{le="0.25",model="mlp"} 0.0' in metrics


def test_without_faults_it_answers_like_the_example_server(spawn_server, weights_file, http, infer_payload):
    server = spawn_server({"WEIGHTS_PATH": str(weights_file)}, script=DEGRADED)
    rows, labels = golden_rows()

    reply = http("POST", f"{server.urls['api']}/v2/models/mlp/infer", infer_payload(rows))

    assert top_classes(reply.json()) == labels


@pytest.mark.parametrize(
    ("name", "value"),
    [("DEGRADE_PREDICTIONS", "1.5"), ("DEGRADE_PREDICTIONS", "lots"), ("ADDED_LATENCY_MS", "-1")],
)
def test_invalid_degradation_exits_with_code_2_and_says_why(spawn_server, weights_file, name, value):
    server = spawn_server(
        {"WEIGHTS_PATH": str(weights_file), name: value}, roles=frozenset(), script=DEGRADED
    )

    assert server.proc.wait(timeout=20) == 2
    assert name in server.drain()
