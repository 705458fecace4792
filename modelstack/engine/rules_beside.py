"""The catalog's rules, run in a forked child (`forked.beside`) while the render goes on.

A warm one-model preview validates the whole catalog (the rules: ~0.2 s at 1,000 models) and then loads
the Pulumi SDK and runs the program for the model that changed; neither needs the other until the render
is stored. So once the schema has passed, the rules run beside the program and only their findings come
back. Nothing the program produced is used before they are in: a catalog the rules reject raises
CatalogError exactly as `load_catalog` would, whatever the program did with it meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from components.validation.loader import LoadedCatalog, SchemaChecked
from modelstack.engine.forked import beside, can_fork


@contextmanager
def rules_beside(
    checked: SchemaChecked, *, fork: bool | None = None
) -> Iterator[Callable[[], LoadedCatalog]]:
    """Yields the function that returns the validated catalog (or raises CatalogError) as `load_catalog`
    does. Where no child can be forked (`fork`, default `forked.can_fork()`) the rules run before this
    yields, as they did before; a catalog the schema already rejected is reported at once."""
    if checked.schema_failed or not (can_fork() if fork is None else fork):
        loaded = checked.finish(checked.rule_problems())
        yield lambda: loaded
        return
    with beside(checked.rule_problems, fork=True) as problems:
        yield lambda: checked.finish(problems())
