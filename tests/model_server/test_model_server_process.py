"""server.py as a process: configured by environment, stops cleanly on SIGTERM."""

from __future__ import annotations

import signal


def test_serves_on_the_port_given_by_env(spawn_server, weights_file, http):
    server = spawn_server({"WEIGHTS_PATH": str(weights_file)})

    assert http("GET", f"{server.urls['api']}/v2/health/ready").status == 200


def test_model_name_from_env_names_the_route_and_the_metric_label(spawn_server, weights_file, http):
    server = spawn_server({"WEIGHTS_PATH": str(weights_file), "MODEL_NAME": "fraud-v3"})

    assert http("GET", f"{server.urls['api']}/v2/models/fraud-v3/ready").status == 200
    assert 'model="fraud-v3"' in http("GET", f"{server.urls['api']}/metrics").text


def test_metrics_move_to_metrics_port_when_set(spawn_server, weights_file, http):
    server = spawn_server(
        {"WEIGHTS_PATH": str(weights_file), "METRICS_PORT": "0"}, roles=frozenset({"api", "metrics"})
    )

    assert "nv_inference_pending_request_count" in http("GET", f"{server.urls['metrics']}/metrics").text
    assert http("GET", f"{server.urls['api']}/metrics").status == 404


def test_metrics_omit_created_series(spawn_server, weights_file, http):
    server = spawn_server({"WEIGHTS_PATH": str(weights_file)})

    assert "_created" not in http("GET", f"{server.urls['api']}/metrics").text


def test_sigterm_stops_the_server_with_exit_code_0(spawn_server, weights_file):
    server = spawn_server({"WEIGHTS_PATH": str(weights_file)})

    server.proc.send_signal(signal.SIGTERM)

    assert server.proc.wait(timeout=10) == 0


def test_invalid_precision_exits_with_code_2_and_says_why(spawn_server, weights_file):
    server = spawn_server({"WEIGHTS_PATH": str(weights_file), "PRECISION": "int4"}, roles=frozenset())

    assert server.proc.wait(timeout=10) == 2
    assert "PRECISION must be one of fp32, fp16, bf16" in server.drain()


def test_reads_the_weights_path_and_precision_names_modelstack_injects(spawn_server, make_weights, http):
    weights = make_weights(scale=1e3)  # overflows in fp16: readiness shows the precision was read
    server = spawn_server({"MODEL_WEIGHTS_PATH": str(weights.parent), "MODEL_PRECISION": "fp16"})

    reply = http("GET", f"{server.urls['api']}/v2/health/ready")

    assert reply.status == 503
    assert "precision fp16" in reply.json()["reason"]
