"""What every `modelstack` command shares: the project root, the exit codes and the error reporting.

The group in `modelstack.cli` and every module of `modelstack.cli.commands` import these from here, so
no command module imports the group that registers it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from components.catalog.errors import CatalogError
from components.catalog.patterns import STACK_NAME
from modelstack.engine.render_dir import RenderDirError

EXIT_INVALID = 2
EXIT_FAILURE = 1

F = TypeVar("F", bound=Callable[..., Any])


def project_root() -> Path:
    """The directory holding Pulumi.yaml: the current one or its nearest parent."""
    here = Path.cwd()
    for candidate in (here, *here.parents):
        if (candidate / "Pulumi.yaml").exists():
            return candidate
    return here


def report_errors(func: F) -> F:
    """Invalid input → located messages and exit 2; anything else → one line and exit 1; no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CatalogError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            click.echo(f"{len(exc.errors)} error(s); nothing was rendered or changed.", err=True)
            raise SystemExit(EXIT_INVALID) from None
        except RenderDirError as exc:
            click.echo(f"error: --out: {exc}", err=True)
            raise SystemExit(EXIT_INVALID) from None
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("MODELSTACK_DEBUG"):
                raise
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(EXIT_FAILURE) from None

    return wrapper  # type: ignore[return-value]


def stack_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    # The name becomes a file name (Pulumi.<stack>.yaml) and a directory (rendered/<stack>).
    if value is not None and not (STACK_NAME.matches(value) and len(value) <= 100):
        raise click.BadParameter(
            f"{value[:40]!r} is not a stack name — use letters, digits, '-', '_' and '.' (no '/')"
        )
    return value


stack_option = click.option(
    "--stack",
    "-s",
    default="dev",
    show_default=True,
    callback=stack_name,
    help="Stack name (Pulumi.<stack>.yaml).",
)


def parse_at(value: str | None) -> datetime | None:
    """An `--at` option: an RFC 3339 time with a zone (a time without one would be read as local)."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an RFC 3339 time like 2024-05-01T12:00:00Z") from None
    if at.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no time zone — add 'Z' or an offset like '+02:00'")
    return at


no_cache_option = click.option(
    "--no-cache",
    "no_cache",
    is_flag=True,
    help="Run the program for every model and leave the render cache alone. The cache is "
    "$MODELSTACK_CACHE_DIR, else $XDG_CACHE_HOME/modelstack/render or ~/.cache/modelstack/render; a "
    "model's entry is keyed by its catalog entry, the stack configuration and the code, so any change to "
    "them is a miss (nothing to invalidate by hand; deleting the directory is always safe).",
)
