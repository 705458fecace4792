"""The `smokeTest:` block of a version in models.yaml, and the checker spec made from it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

import modelstack.release.smoke_check
from components.catalog.smoke import GoldenRequest, SmokeTest, Tolerance, to_checker_spec
from tests.documented import undocumented_fields

EXAMPLE = """
timeoutSeconds: 60
retries: 20
backoffSeconds: 5
requests:
  - name: cat-image
    method: POST
    path: /v2/models/resnet/infer
    body: {inputs: [{name: input, shape: [1, 3], datatype: FP32, data: [0.5, 0.25, 1.0]}]}
    expect:
      outputs.0.data: [0.1, 0.9]
      outputs.0.name: probs
    tolerance: {abs: 0.001, rel: 0.01}
"""


def parse(text: str) -> SmokeTest:
    return SmokeTest.model_validate(yaml.safe_load(text))


def error_of(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        SmokeTest.model_validate(data)
    return str(caught.value)


def request(**fields: Any) -> dict[str, Any]:
    return {"name": "r", "path": "/infer", **fields}


def test_camel_case_yaml_is_read_into_the_spec() -> None:
    smoke = parse(EXAMPLE)

    assert (smoke.timeout_seconds, smoke.retries, smoke.backoff_seconds) == (60, 20, 5)
    assert smoke.requests[0].expect == {"outputs.0.data": [0.1, 0.9], "outputs.0.name": "probs"}
    assert smoke.requests[0].tolerance == Tolerance(abs=0.001, rel=0.01)


def test_defaults_wait_for_a_loading_model_and_compare_like_numpy_isclose() -> None:
    smoke = SmokeTest.model_validate({"requests": [request()]})

    assert (smoke.timeout_seconds, smoke.retries, smoke.backoff_seconds) == (30, 10, 2)
    assert smoke.requests[0].method == "POST"
    assert smoke.requests[0].tolerance == Tolerance(abs=1e-8, rel=1e-5)


def test_at_least_one_request_is_required() -> None:
    assert "at least 1 item" in error_of({"requests": []})


def test_request_names_are_unique() -> None:
    assert "unique: r repeated" in error_of({"requests": [request(), request()]})


@pytest.mark.parametrize("pointer", ["outputs..data", ".outputs", "outputs 0", ""])
def test_malformed_response_path_is_refused(pointer: str) -> None:
    assert "is not a response path" in error_of({"requests": [request(expect={pointer: 1})]})


@pytest.mark.parametrize("golden", [None, {"a": 1}, [1, None]])
def test_golden_value_must_be_numbers_strings_booleans_or_lists(golden: Any) -> None:
    assert "is not a number, string, boolean" in error_of({"requests": [request(expect={"out": golden})]})


def test_golden_value_must_be_finite() -> None:
    assert "must be finite" in error_of({"requests": [request(expect={"out": [1.0, float("nan")]})]})


def test_path_must_start_with_a_slash() -> None:
    assert "is not an HTTP path — start with '/'" in error_of({"requests": [request(path="v2/infer")]})


def test_negative_tolerance_is_refused() -> None:
    assert "greater than or equal to 0" in error_of({"requests": [request(tolerance={"abs": -1})]})


def test_every_field_is_documented_for_the_catalog_reference() -> None:
    for model in (SmokeTest, GoldenRequest, Tolerance):
        assert undocumented_fields(model) == [], model.__name__


def test_checker_spec_carries_every_setting_for_the_endpoint() -> None:
    document = to_checker_spec(parse(EXAMPLE), "http://resnet-v2.models.svc:8080/")

    assert document == {
        "endpoint": "http://resnet-v2.models.svc:8080",
        "timeoutSeconds": 60,
        "retries": 20,
        "backoffSeconds": 5,
        "requests": [
            {
                "name": "cat-image",
                "method": "POST",
                "path": "/v2/models/resnet/infer",
                "body": {
                    "inputs": [
                        {"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [0.5, 0.25, 1.0]}
                    ]
                },
                "expect": {"outputs.0.data": [0.1, 0.9], "outputs.0.name": "probs"},
                "tolerance": {"abs": 0.001, "rel": 0.01},
            }
        ],
    }


def test_checker_passes_a_good_server_with_the_spec_made_from_the_catalog(
    tmp_path: Path, model_server: str
) -> None:
    smoke = parse(EXAMPLE.replace("/v2/models/resnet/infer", "/good"))
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(to_checker_spec(smoke, model_server)))

    result = subprocess.run(
        [sys.executable, "-I", "-S", modelstack.release.smoke_check.__file__, str(spec_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout
