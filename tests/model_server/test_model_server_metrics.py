"""/metrics: Triton-named series (the Triton preset's HPA and alert metrics) plus our own."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

INPUT_DIM = 16
REQUIRED_SERIES = (
    "nv_inference_pending_request_count",
    "nv_inference_request_success",
    "nv_inference_request_failure",
    "nv_inference_queue_duration_us",
    "nv_inference_request_duration_us",
    "nv_inference_compute_infer_duration_us",
    "nv_inference_count",
    "modelstack_inference_request_duration_seconds_bucket",
    "modelstack_nonfinite_outputs_total",
)
# Finite in float16 (max 65504), but a 16-term dot product of such values overflows it.
FP16_OVERFLOWING_INPUT = 60000.0


def sample(metrics_text: str, name: str, model: str = "mlp") -> float:
    match = re.search(rf'^{name}{{model="{model}"}} (\S+)$', metrics_text, re.MULTILINE)
    assert match, f"no sample {name}{{model={model!r}}} in:\n{metrics_text}"
    return float(match[1])


@pytest.fixture
def url(start_server: Callable[..., str], weights_file: Path) -> str:
    return start_server(weights_path=weights_file)


@pytest.mark.parametrize("series", REQUIRED_SERIES)
def test_series_exists_before_any_request(url, http, series):
    # An HPA on a series that does not exist yet cannot scale, so every series starts at 0.
    text = http("GET", f"{url}/metrics").text

    assert re.search(rf"^{series}{{.*model=\"mlp\".*}} ", text, re.MULTILINE), text


def test_metrics_use_the_prometheus_text_format(url, http):
    reply = http("GET", f"{url}/metrics")

    assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")


def test_triton_counters_keep_triton_names_without_total_suffix(url, http):
    text = http("GET", f"{url}/metrics").text

    assert "# TYPE nv_inference_request_success counter" in text
    assert "nv_inference_request_success_total" not in text


def test_a_successful_inference_counts_as_success_and_is_timed(url, http, infer_payload):
    http("POST", f"{url}/v2/models/mlp/infer", infer_payload([[0.1] * INPUT_DIM]))

    text = http("GET", f"{url}/metrics").text

    assert sample(text, "nv_inference_request_success") == 1
    assert sample(text, "nv_inference_request_failure") == 0
    assert sample(text, "modelstack_inference_request_duration_seconds_count") == 1
    assert sample(text, "nv_inference_request_duration_us") > 0
    assert sample(text, "nv_inference_compute_infer_duration_us") > 0


def test_inference_count_counts_batch_rows(url, http, infer_payload):
    http("POST", f"{url}/v2/models/mlp/infer", infer_payload([[0.1] * INPUT_DIM] * 3))

    assert sample(http("GET", f"{url}/metrics").text, "nv_inference_count") == 3


def test_a_rejected_inference_counts_as_failure(url, http, infer_payload):
    http("POST", f"{url}/v2/models/mlp/infer", infer_payload([[0.1] * (INPUT_DIM + 1)]))

    assert sample(http("GET", f"{url}/metrics").text, "nv_inference_request_failure") == 1


def test_no_request_is_pending_when_idle(url, http, infer_payload):
    http("POST", f"{url}/v2/models/mlp/infer", infer_payload([[0.1] * INPUT_DIM]))

    assert sample(http("GET", f"{url}/metrics").text, "nv_inference_pending_request_count") == 0


def test_a_non_finite_output_is_refused_with_500_and_counted(start_server, weights_file, http, infer_payload):
    url = start_server(weights_path=weights_file, precision="fp16")

    reply = http("POST", f"{url}/v2/models/mlp/infer", infer_payload([[FP16_OVERFLOWING_INPUT] * INPUT_DIM]))

    assert reply.status == 500
    assert "non-finite" in reply.json()["error"]
    assert sample(http("GET", f"{url}/metrics").text, "modelstack_nonfinite_outputs_total") == 1


def test_the_same_input_is_finite_in_fp32(url, http, infer_payload):
    reply = http("POST", f"{url}/v2/models/mlp/infer", infer_payload([[FP16_OVERFLOWING_INPUT] * INPUT_DIM]))

    assert reply.status == 200


def test_unknown_model_names_do_not_create_series(url, http, infer_payload):
    http("POST", f"{url}/v2/models/attacker-chosen/infer", infer_payload([[0.1] * INPUT_DIM]))

    assert "attacker-chosen" not in http("GET", f"{url}/metrics").text
