"""The consumer helper and examples/consumer: reading a contract through a StackReference."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from components.contract.consumer import ContractError, model_of, parse_contract, stack_name
from modelstack.engine.render import write_render

HARNESS = Path(__file__).with_name("consumer_harness.py")


@pytest.fixture(scope="module")
def dev_outputs(render_of, tmp_path_factory) -> dict[str, Any]:
    """outputs.json of a real `modelstack render --stack dev`."""
    out = tmp_path_factory.mktemp("dev") / "render"
    write_render(render_of("dev"), out)
    return json.loads((out / "outputs.json").read_text(encoding="utf-8"))


def run_consumer(outputs: dict[str, Any], config: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """examples/consumer under the mock runtime, in a subprocess: the mock runtime is process-global."""
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    (tmp_path / "config.json").write_text(json.dumps(config))
    done = subprocess.run(
        [sys.executable, str(HARNESS), str(tmp_path / "outputs.json"), str(tmp_path / "config.json")],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_parse_refuses_an_unknown_schema_version_naming_the_ones_it_understands(dev_outputs) -> None:
    future = {**dev_outputs["contract"], "schemaVersion": 2}
    with pytest.raises(
        ContractError, match=r"schemaVersion 2, but this reader understands schemaVersion 1 only"
    ):
        parse_contract(future)


def test_parse_refuses_a_missing_schema_version() -> None:
    with pytest.raises(ContractError, match="schemaVersion None"):
        parse_contract({"models": {}})


def test_parse_refuses_something_that_is_not_an_object() -> None:
    with pytest.raises(ContractError, match="is not an object"):
        parse_contract("ml-dev")


def test_parse_ignores_fields_added_by_a_newer_producer(dev_outputs) -> None:
    # Additive evolution: an older reader keeps working when the producer adds fields.
    newer = {**dev_outputs["contract"], "regions": ["eu-west-1"]}
    assert parse_contract(newer).namespace == "ml-dev"


def test_parse_names_the_field_that_breaks_the_schema(dev_outputs) -> None:
    broken = json.loads(json.dumps(dev_outputs["contract"]))
    broken["models"]["llm-chat"]["mesh"]["port"] = "http"
    with pytest.raises(ContractError, match=r"models\.llm-chat\.mesh\.port"):
        parse_contract(broken)


def test_model_of_lists_the_served_models_when_asked_for_an_unknown_one(dev_outputs) -> None:
    contract = parse_contract(dev_outputs["contract"])
    with pytest.raises(ContractError, match="serves: llm-chat, text-embedder, vision-detector"):
        model_of(contract, "llm-code")


def test_stack_name_is_org_project_stack() -> None:
    assert stack_name("acme", "prod") == "acme/modelstack/prod"


def test_consumer_example_references_the_configured_stack(dev_outputs, tmp_path: Path) -> None:
    result = run_consumer(dev_outputs, {"org": "acme", "modelstackStack": "dev"}, tmp_path)
    assert result["references"] == ["acme/modelstack/dev"]


def test_consumer_example_exports_the_client_settings_of_its_model(dev_outputs, tmp_path: Path) -> None:
    result = run_consumer(dev_outputs, {"org": "acme", "modelstackStack": "dev"}, tmp_path)
    assert result.get("error") is None
    assert result["exports"]["modelstackSchemaVersion"] == 1
    assert result["exports"]["client"] == {
        "api": "vllm",
        "url": "http://llm-chat.ml-dev.svc.cluster.local:8000",
        "externalUrl": "https://chat.models.example.com",
        "queueMetric": "vllm:num_requests_waiting",
        "versions": ["v1", "v2"],
    }


def test_consumer_example_fails_clearly_on_an_unknown_schema_version(dev_outputs, tmp_path: Path) -> None:
    outputs = {**dev_outputs, "contract": {**dev_outputs["contract"], "schemaVersion": 7}}
    result = run_consumer(outputs, {"org": "acme", "modelstackStack": "dev"}, tmp_path)
    assert "stack acme/modelstack/dev output 'contract' has schemaVersion 7" in result["error"]
    assert "understands schemaVersion 1 only" in result["error"]
