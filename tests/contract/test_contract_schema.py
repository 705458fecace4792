"""The committed JSON Schema is the pydantic model's, and every rendered stack's contract obeys it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from components.contract.schema import SCHEMA_VERSION, json_schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "contract.schema.json"
REGENERATE = "python -m components.contract.schema > docs/contract.schema.json"


def committed_schema() -> dict[str, object]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def schema_errors(document: object) -> list[str]:
    validator = jsonschema.Draft202012Validator(committed_schema())
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def test_committed_schema_is_the_models_schema() -> None:
    assert committed_schema() == json_schema(), f"docs/contract.schema.json drifted; run: {REGENERATE}"


def test_committed_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(committed_schema())


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rendered_outputs_json_validates_against_the_committed_schema(
    render_of, stack: str, tmp_path: Path
) -> None:
    from modelstack.engine.render import write_render

    write_render(render_of(stack), tmp_path / stack)
    outputs = json.loads((tmp_path / stack / "outputs.json").read_text(encoding="utf-8"))
    assert outputs["contract"]["schemaVersion"] == SCHEMA_VERSION
    assert schema_errors(outputs["contract"]) == []


def minimal_contract(image: str) -> dict[str, object]:
    return {
        "schemaVersion": 1,
        "stack": "dev",
        "namespace": "ml-dev",
        "models": {
            "m": {
                "api": "vllm",
                "mesh": {
                    "host": "m.ml-dev.svc.cluster.local",
                    "port": 8000,
                    "url": "http://m.ml-dev.svc.cluster.local:8000",
                },
                "metrics": {"port": 8000, "path": "/metrics", "queueMetric": "q", "exposed": ["q"]},
                "versions": {
                    "v1": {
                        "image": image,
                        "digest": image.partition("@")[2] or "sha256:" + "0" * 64,
                        "weight": 100,
                        "replicas": {"min": 1, "max": 1, "autoscaled": False},
                        "deployment": "m-v1",
                        "service": "m-v1",
                    }
                },
            }
        },
    }


def test_schema_accepts_a_contract_without_its_optional_fields() -> None:
    assert schema_errors(minimal_contract("registry.example.com/m@sha256:" + "a" * 64)) == []


def test_schema_refuses_a_tagged_image() -> None:
    # The contract promises consumers immutable digests; a tag must never validate.
    errors = schema_errors(minimal_contract("registry.example.com/m:latest"))
    assert [e.split(":")[0] for e in errors] == ["models.m.versions.v1.image"]
