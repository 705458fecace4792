"""The commands of `modelstack.cli.commands` are imported only when run, and every one of them is still
reachable by name from a fresh process (a command missing from the lazy table would vanish from the CLI)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import click
import pytest

from modelstack.cli import LAZY_COMMANDS
from modelstack.cli.commands import COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: str(c.name))
def test_every_command_of_commands_is_in_the_lazy_table_under_the_module_defining_it(
    command: click.Command,
) -> None:
    module = importlib.import_module(LAZY_COMMANDS[str(command.name)])

    assert command in (getattr(module, "COMMANDS", None) or (module.command,))


@pytest.mark.parametrize("name", sorted(str(command.name) for command in COMMANDS))
def test_a_fresh_process_runs_each_command_by_name(name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "modelstack", name, "--help"], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert f"Usage: modelstack {name}" in result.stdout
