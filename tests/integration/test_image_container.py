"""One container of the pushed image, run as the rendered pod runs it (user, read-only root, tmpfs for the
writable paths, environment, CPU and memory limits, weights mounted read-only): its probes, metrics and
inference answer where the render says, within the sandbox the render draws."""

from __future__ import annotations

import json

import pytest

from tests.integration.containers import docker, http_get, http_post_json, model_name
from tests.integration.rendered_contract import HttpEndpoint

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("probe", ["liveness", "readiness", "startup"])
def test_probe_answers_200_on_its_port_with_weights_mounted_read_only(serving, serving_contract, probe):
    endpoint = serving_contract.probes[probe]

    assert http_get(serving.url(endpoint))[0] == 200, f"{probe}Probe {endpoint}"


def exposed_metrics(text: str) -> set[str]:
    """Sample names, and family names from ``# TYPE`` (a histogram's samples carry suffixes)."""
    samples = {
        line.split("{", 1)[0].split(" ", 1)[0] for line in text.splitlines() if not line.startswith("#")
    }
    families = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    return samples | families


def test_metrics_endpoint_exposes_every_metric_the_platform_queries(serving, serving_contract):
    # The HPA's series, the alert rules' and every one the stack's contract says the server exposes.
    for endpoint in serving_contract.metrics:
        status, text = http_get(serving.url(endpoint))

        assert status == 200, endpoint
        exposed = exposed_metrics(text)
        missing = [m for m in serving_contract.expected_metrics if m not in exposed]
        assert not missing, f"{endpoint}: missing {missing}; exposed {sorted(exposed)}"


def test_hpa_metric_is_labelled_with_the_model_name(serving, serving_contract):
    [endpoint, *_] = serving_contract.metrics
    text = http_get(serving.url(endpoint))[1]

    for series in serving_contract.scaling_series:
        assert f'{series}{{model="{model_name(serving_contract)}"}}' in text, series


def test_inference_answers_one_output_row_per_input_row(serving, serving_contract):
    payload = {"inputs": [{"name": "input", "shape": [2, 16], "datatype": "FP32", "data": [0.25] * 32}]}
    # The API listens where the readiness probe asks.
    api = HttpEndpoint(serving_contract.readiness.port, f"/v2/models/{model_name(serving_contract)}/infer")

    status, body = http_post_json(serving.url(api), payload)

    assert status == 200, body
    assert body["outputs"][0]["shape"] == [2, 4]  # type: ignore[index]


def test_process_runs_as_the_contract_user(serving, serving_contract):
    ids = serving.exec("sh", "-c", 'echo "$(id -u):$(id -g)"')

    assert ids.stdout.strip() == serving_contract.run_as


def test_serves_within_the_rendered_cpu_and_memory_limits(serving, serving_contract):
    limits = json.loads(docker("inspect", "--format", "{{json .HostConfig}}", serving.id).stdout)

    assert limits["NanoCpus"] == round(serving_contract.cpu_limit * 1e9)
    assert limits["Memory"] == serving_contract.memory_limit_bytes


def test_root_filesystem_is_read_only(serving, serving_contract):
    assert serving_contract.read_only_root
    result = serving.exec("sh", "-c", "touch /x")

    assert result.returncode != 0
    assert "Read-only file system" in result.stderr


def test_weights_mount_is_read_only(serving, serving_contract):
    result = serving.exec("sh", "-c", f"touch {serving_contract.weights_mount}/x")

    assert result.returncode != 0


def test_writable_paths_are_writable(serving, serving_contract):
    for path in serving_contract.writable_paths:
        assert serving.exec("sh", "-c", f"touch {path}/probe").returncode == 0, path
