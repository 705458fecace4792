"""The smoke-test checker, run as the Job runs it (a separate stdlib-only python) against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import modelstack.release.smoke_check

CHECKER = Path(modelstack.release.smoke_check.__file__)
EXPECT = {"outputs.0.data": [0.1, 0.9], "outputs.0.name": "probs"}


def spec(endpoint: str, *paths: str, **overrides: Any) -> dict[str, Any]:
    requests = [
        {
            "name": path.strip("/") or "root",
            "method": "POST",
            "path": path,
            "body": {"inputs": [1, 2]},
            "expect": EXPECT,
        }
        for path in paths
    ]
    return {
        "endpoint": endpoint,
        "timeoutSeconds": 5,
        "retries": 0,
        "backoffSeconds": 0.01,
        "requests": requests,
        **overrides,
    }


def check(tmp_path: Path, document: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(document))
    # -I -S: no site-packages, no user paths — proves the checker needs nothing but the standard library.
    return subprocess.run(
        [sys.executable, "-I", "-S", str(CHECKER), str(spec_file)], capture_output=True, text=True, timeout=60
    )


def fail_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]


def test_good_outputs_pass_with_a_summary_line(tmp_path: Path, model_server: str) -> None:
    result = check(tmp_path, spec(model_server, "/good"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"smoke test passed: 1 request(s) against {model_server}"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/nan", "outputs.0.data has non-finite values: [0]: NaN is not finite"),
        ("/infinity", "outputs.0.data has non-finite values: [1]: -Infinity is not finite"),
        ("/nan-string", 'outputs.0.data has non-finite values: [0]: "NaN" is not finite'),
        ("/nan-lowercase-string", 'outputs.0.data has non-finite values: [0]: "nan" is not finite'),
        ("/overflow", "outputs.0.data has non-finite values: [0]: Infinity is not finite"),
    ],
)
def test_non_finite_output_fails(tmp_path: Path, model_server: str, path: str, message: str) -> None:
    result = check(tmp_path, spec(model_server, path))

    assert result.returncode == 1
    assert fail_lines(result) == [f"FAIL {path.strip('/')}: {message}"]


def test_non_finite_value_outside_the_expected_outputs_fails_too(tmp_path: Path, model_server: str) -> None:
    result = check(tmp_path, spec(model_server, "/nan-elsewhere"))

    assert result.returncode == 1
    assert fail_lines(result) == ["FAIL nan-elsewhere: logits.1 is NaN (non-finite)"]


def test_output_out_of_tolerance_fails_naming_the_position_and_the_difference(
    tmp_path: Path, model_server: str
) -> None:
    result = check(tmp_path, spec(model_server, "/off"))

    assert result.returncode == 1
    assert fail_lines(result) == [
        "FAIL off: outputs.0.data out of tolerance (abs 1e-08, rel 1e-05): [0]: 0.2 vs expected 0.1 (off by 0.1)"
    ]


def test_tolerance_from_the_spec_is_applied(tmp_path: Path, model_server: str) -> None:
    document = spec(model_server, "/off")
    document["requests"][0]["tolerance"] = {"abs": 0.15, "rel": 0}

    assert check(tmp_path, document).returncode == 0


def test_output_of_the_wrong_shape_fails(tmp_path: Path, model_server: str) -> None:
    result = check(tmp_path, spec(model_server, "/short"))

    assert fail_lines(result) == [
        "FAIL short: outputs.0.data out of tolerance (abs 1e-08, rel 1e-05): value: expected 2 values, got 1"
    ]


def test_string_output_must_match_exactly(tmp_path: Path, model_server: str) -> None:
    result = check(tmp_path, spec(model_server, "/renamed"))

    assert fail_lines(result) == [
        'FAIL renamed: outputs.0.name out of tolerance (abs 1e-08, rel 1e-05): value: expected "probs", got "scores"'
    ]


def test_missing_output_fails(tmp_path: Path, model_server: str) -> None:
    document = spec(model_server, "/good")
    document["requests"][0]["expect"] = {"outputs.1.data": [1.0]}

    assert fail_lines(check(tmp_path, document)) == [
        "FAIL good: outputs.1.data missing from the response (no '1')"
    ]


def test_http_error_status_fails_with_the_body(tmp_path: Path, model_server: str) -> None:
    result = check(tmp_path, spec(model_server, "/error"))

    assert result.returncode == 1
    assert fail_lines(result) == [
        f"FAIL error: POST {model_server}/error answered HTTP 500: "
        '{"error": "CUDA error: device-side assert triggered"}'
    ]


def test_response_that_is_not_json_fails(tmp_path: Path, model_server: str) -> None:
    result = check(tmp_path, spec(model_server, "/not-json"))

    assert result.returncode == 1
    assert fail_lines(result)[0].startswith("FAIL not-json: response is not JSON")


def test_every_failing_request_is_reported_and_counted(tmp_path: Path, model_server: str) -> None:
    result = check(tmp_path, spec(model_server, "/good", "/nan", "/error"))

    assert result.returncode == 1
    assert [line.split(":")[0] for line in fail_lines(result)] == ["FAIL nan", "FAIL error"]
    assert result.stdout.splitlines()[-1] == f"smoke test FAILED: 2 of 3 request(s) against {model_server}"


def test_still_loading_endpoint_is_retried_until_it_answers(
    tmp_path: Path, model_server: str, reset_loading: None
) -> None:
    result = check(tmp_path, spec(model_server, "/loading", retries=3))

    assert result.returncode == 0, result.stdout


def test_still_loading_endpoint_fails_once_retries_run_out(
    tmp_path: Path, model_server: str, reset_loading: None
) -> None:
    result = check(tmp_path, spec(model_server, "/loading", retries=1))

    assert fail_lines(result) == [
        f"FAIL loading: POST {model_server}/loading unreachable — no answer after 2 attempt(s) (last: HTTP 503)"
    ]


def test_unreachable_endpoint_fails_after_bounded_retries_with_backoff(tmp_path: Path) -> None:
    started = time.monotonic()
    result = check(tmp_path, spec("http://127.0.0.1:9", "/good", retries=2, backoffSeconds=0.2))
    elapsed = time.monotonic() - started

    assert result.returncode == 1
    assert "unreachable — no answer after 3 attempt(s)" in fail_lines(result)[0]
    assert elapsed >= 0.2 + 0.4  # waited 0.2 s, then twice that


def test_spec_can_come_from_the_environment(model_server: str) -> None:
    env = {**os.environ, "SMOKE_SPEC": json.dumps(spec(model_server, "/good"))}

    result = subprocess.run(
        [sys.executable, "-I", "-S", str(CHECKER)], capture_output=True, text=True, env=env, timeout=60
    )

    assert result.returncode == 0, result.stdout


def test_unusable_spec_exits_2(tmp_path: Path) -> None:
    result = check(tmp_path, {"endpoint": "http://127.0.0.1:9", "requests": []})

    assert result.returncode == 2
    assert "non-empty 'requests' list" in result.stdout
