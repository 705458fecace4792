"""The CLI a user meets: every command takes --stack the same way, states its exit codes in --help, and
the README's CLI reference lists every command with its real options and one table of exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from modelstack.cli import cli
from modelstack.cli.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
for _command in COMMANDS:
    cli.add_command(_command)
# A group (`release`) is listed by its subcommands: `release run`, `release evaluate`.
ALL = sorted(
    f"{name} {sub}" if isinstance(command, click.Group) else name
    for name, command in cli.commands.items()
    for sub in (sorted(command.commands) if isinstance(command, click.Group) else [""])
)
READS_A_STACK = [name for name in ALL if name not in ("gpus", "stacks")]  # NVML; every stack at once


def command_of(name: str) -> click.Command:
    command: click.Command = cli
    for part in name.split():
        assert isinstance(command, click.Group)
        command = command.commands[part]
    return command


def options(name: str) -> set[str]:
    command = command_of(name)
    return {
        o for p in command.params if isinstance(p, click.Option) for o in p.opts if o.startswith("--")
    } - {"--help"}


def cli_reference() -> str:
    match = re.search(r"^## CLI reference\n(.*?)(?=^## )", README, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no '## CLI reference' section"
    return match.group(1)


def reference_row(name: str) -> str:
    rows = [line for line in cli_reference().splitlines() if line.startswith(f"| `modelstack {name}")]
    assert len(rows) == 1, f"README's CLI reference has {len(rows)} rows for `modelstack {name}`"
    return rows[0]


@pytest.mark.parametrize("name", READS_A_STACK)
def test_every_command_that_reads_a_stack_takes_stack_with_default_dev(name: str) -> None:
    (stack,) = [p for p in command_of(name).params if "--stack" in getattr(p, "opts", ())]
    assert set(stack.opts) == {"--stack", "-s"}
    assert stack.default == "dev"


@pytest.mark.parametrize("name", ALL)
def test_every_command_states_its_exit_codes_in_help(name: str) -> None:
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Exit codes:" in result.output
    assert re.search(r"^\s+0\s", result.output, re.MULTILINE), result.output
    assert re.search(r"^\s+2\s+.*(invalid|usage)", result.output, re.MULTILINE), result.output


@pytest.mark.parametrize("name", ALL)
def test_the_readme_lists_every_command_with_its_real_options(name: str) -> None:
    row = reference_row(name)
    documented = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", row))
    assert documented == options(name)


def test_the_readme_has_one_exit_code_table_with_every_code_a_command_uses() -> None:
    tables = re.findall(r"^\| code \|", README, re.MULTILINE)
    assert len(tables) == 1
    table = README[README.index("| code |") :].split("\n\n")[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    used = set()
    for name in ALL:
        help_text = CliRunner().invoke(cli, [*name.split(), "--help"]).output
        codes = help_text.split("Exit codes:")[1]
        used |= {int(code) for code in re.findall(r"^\s+(\d+)\s", codes, re.MULTILINE)}
    assert used == documented
