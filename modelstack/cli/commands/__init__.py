"""Subcommands beyond validate/render/preview, each a click command named `command` in its module."""

from __future__ import annotations

import click

from modelstack.cli.commands import capacity, check, gate, gpus, release, release_loop, stacks

COMMANDS: tuple[click.Command, ...] = (
    gate.command,
    gpus.command,
    check.command,
    capacity.command,
    stacks.command,
    *release.COMMANDS,  # promote, rollback, retire
    *release_loop.COMMANDS,  # release run, release evaluate
)
