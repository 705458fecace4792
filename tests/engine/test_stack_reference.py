"""Other teams read the stack's exports through a real `pulumi.StackReference`.

`examples/consumer` runs as its own Pulumi project on the dev stack's backend, validates the contract
(`components.contract.consumer`) and exports what a client needs; a stack that publishes a contract
version the reader does not understand fails the consumer's `pulumi up` with a message saying so.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.engine import ROOT, Deployed, Pulumi

ORG = "organization"  # the file backend's only organization


def consumer(engine: Pulumi, project: Path, stack: str, modelstack_stack: str) -> Path:
    directory = project / "examples" / "consumer"
    engine.run(directory, "stack", "init", stack)
    engine.run(directory, "config", "set", "--stack", stack, "org", ORG)
    engine.run(directory, "config", "set", "--stack", stack, "modelstackStack", modelstack_stack)
    return directory


@pytest.fixture()
def future_stack(deployed_dev: Deployed, tmp_path: Path) -> Iterator[str]:
    """A `modelstack` stack on the same backend that publishes contract schemaVersion 2."""
    project = tmp_path / "future"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        "name: modelstack\n"
        "runtime:\n  name: python\n  options:\n    toolchain: pip\n"
        f"    virtualenv: {ROOT / '.venv'}\n",
        encoding="utf-8",
    )
    (project / "__main__.py").write_text(
        textwrap.dedent(
            """
            import pulumi

            pulumi.export("contract", {"schemaVersion": 2, "stack": "future", "models": {}})
            """
        ),
        encoding="utf-8",
    )
    engine = deployed_dev.stack.engine
    engine.run(project, "stack", "init", "future")
    engine.run(project, "up", "--stack", "future", "--yes", "--skip-preview")
    yield "future"
    engine.run(project, "destroy", "--stack", "future", "--yes", "--skip-preview", check=False)
    engine.run(project, "stack", "rm", "future", "--yes", "--force", check=False)


def test_consumer_reads_the_dev_contract_through_a_stack_reference(deployed_dev: Deployed) -> None:
    engine, project = deployed_dev.stack.engine, deployed_dev.stack.project
    directory = consumer(engine, project, "reads-dev", "dev")
    engine.run(directory, "up", "--stack", "reads-dev", "--yes", "--skip-preview")

    client = engine.outputs(directory, "reads-dev")["client"]
    contract = deployed_dev.offline_outputs["contract"]
    chat = contract["models"]["llm-chat"]
    assert client["url"] == chat["mesh"]["url"]
    assert client["api"] == chat["api"]
    assert client["versions"] == sorted(chat["versions"])
    assert engine.outputs(directory, "reads-dev")["modelstackSchemaVersion"] == contract["schemaVersion"]


def test_consumer_refuses_a_contract_version_it_does_not_understand(
    deployed_dev: Deployed, future_stack: str
) -> None:
    engine, project = deployed_dev.stack.engine, deployed_dev.stack.project
    directory = consumer(engine, project, "reads-future", future_stack)
    result = engine.run(directory, "up", "--stack", "reads-future", "--yes", "--skip-preview", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "schemaVersion 2, but this reader understands schemaVersion 1 only" in output, output
    assert "Traceback" not in output


def test_consumer_of_a_missing_model_names_the_models_the_stack_serves(deployed_dev: Deployed) -> None:
    engine, project = deployed_dev.stack.engine, deployed_dev.stack.project
    directory = consumer(engine, project, "reads-unknown", "dev")
    engine.run(directory, "config", "set", "--stack", "reads-unknown", "model", "no-such-model")
    result = engine.run(directory, "up", "--stack", "reads-unknown", "--yes", "--skip-preview", check=False)
    assert result.returncode != 0
    assert "serves no model 'no-such-model'" in result.stdout + result.stderr
