"""Issue 14, item 6: `validate`, `render` and `capacity` read a stack file the way `pulumi up` does —
Pulumi's encoding of each value, then the SDK's typed getter — so they never disagree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelstack.engine.render import run_program

NAMESPACE_LINE = "  modelstack:namespace: ml-dev\n"


def _namespace(project: Path, written: str) -> None:
    stack = project / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace(NAMESPACE_LINE, f"  modelstack:namespace: {written}\n"))


# As written in the stack file → the namespace Pulumi passes (its source text; null is empty).
@pytest.mark.parametrize(
    ("written", "valid"),
    [("123", True), ('"true"', True), ("true", True), ("null", False), ("~", False), ("'ML-dev'", False)],
)
def test_validate_and_render_agree_on_a_scalar(project: Path, run, written: str, valid: bool) -> None:
    _namespace(project, written)
    validated = run("validate", "--stack", "dev")
    rendered = run("render", "--stack", "dev", "--out", "out")
    assert (validated.code, rendered.code) == ((0, 0) if valid else (2, 2)), (
        validated.stderr,
        rendered.stderr,
    )
    if not valid:
        assert validated.located and rendered.located


def test_a_number_is_passed_as_its_text(project: Path, run) -> None:
    _namespace(project, "123")
    assert run("render", "--stack", "dev", "--out", "out").code == 0
    assert (project / "out" / "_cluster" / "Namespace.core" / "123.yaml").is_file()


def test_a_secret_registry_password_is_accepted_by_every_command(project: Path, run) -> None:
    stack = project / "Pulumi.dev.yaml"
    stack.write_text(
        stack.read_text() + "  modelstack:registryPassword:\n    secure: v1:AAAAAAAAAAAA:BBBBBBBB\n"
    )
    for command in (("validate",), ("capacity",), ("render", "--out", "out")):
        result = run(command[0], "--stack", "dev", *command[1:])
        assert result.code == 0, (command, result.stderr)


def test_a_plain_text_registry_password_is_refused(project: Path, run) -> None:
    stack = project / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text() + "  modelstack:registryPassword: hunter2\n")
    result = run("validate", "--stack", "dev")
    assert result.located and "pulumi config set --secret" in result.stderr
    assert "hunter2" not in result.stderr


def test_a_secure_value_inside_an_object_is_accepted_and_stands_in_offline(project: Path, run) -> None:
    stack = project / "Pulumi.dev.yaml"
    text = stack.read_text().replace(
        "    prefix: modelstack\n", "    prefix: modelstack\n    username: {secure: v1:AAAA:BBBB}\n"
    )
    stack.write_text(text)
    assert run("validate", "--stack", "dev").code == 0
    render = run_program(project, "dev")
    assert render.manifests


def test_a_boolean_is_read_as_get_bool_reads_it(project: Path, run) -> None:
    stack = project / "Pulumi.dev.yaml"
    stack.write_text(
        stack.read_text().replace("modelstack:buildImages: false", "modelstack:buildImages: yes")
    )
    for command in ("validate", "render"):
        result = run(command, "--stack", "dev")
        assert result.located and "expected true or false" in result.stderr, command


def test_the_program_gets_exactly_the_strings_the_pulumi_cli_would_pass(project: Path) -> None:
    from components.validation.loader import stack_wire

    wire, _ = stack_wire(project, "dev")
    assert wire.values["modelstack:namespace"] == "ml-dev"
    assert wire.values["modelstack:buildImages"] == "false"
    assert json.loads(wire.values["modelstack:nodePools"])[0]["name"] == "gpu-h100-mig"
    assert "[secret]" not in wire.values.values()


def test_an_unknown_key_is_refused_by_render_as_by_validate(project: Path, run) -> None:
    stack = project / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text() + "  modelstack:nodePool: []\n")
    for command in ("validate", "render"):
        result = run(command, "--stack", "dev")
        assert result.located and "unknown key 'nodePool'" in result.stderr, command
