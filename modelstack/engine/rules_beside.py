"""The catalog's rules, and the capacity plan the stack exports, run in a forked child (`forked.beside`)
while the render goes on.

A warm one-model preview validates the whole catalog (the rules: ~0.2 s at 1,000 models) and then loads
the Pulumi SDK and runs the program for the model that changed; neither needs the other until the render
is stored. So once the schema has passed, the rules run beside the program and only their findings come
back. Nothing the program produced is used before they are in: a catalog the rules reject raises
CatalogError exactly as `load_catalog` would, whatever the program did with it meanwhile.

The same child then plans the catalog's capacity (`capacity_report.capacity_plan`, ~0.06 s at 1,000
models), which the program exports at its end: the rules' own capacity check has just planned the same
pools, so the child's plan costs little, and the program reads it instead of planning again. It is
computed by the same function on the same objects (the child's are the parent's, copied by the fork);
where the child has none (no fork, a failed child, a catalog it could not plan), the program plans here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from components.catalog.errors import Problem
from components.catalog.shard import ShardRole
from components.gpu.capacity_report import capacity_plan
from components.validation.loader import LoadedCatalog, SchemaChecked
from modelstack.engine.forked import beside, can_fork

Plan = dict[str, Any]


@dataclass(frozen=True)
class Beside:
    validated: Callable[[], LoadedCatalog]
    """The validated catalog, or CatalogError, as `load_catalog` gives them."""
    capacity: Callable[[], Plan | None]
    """The capacity plan of the catalog, or None where the caller must plan it itself."""


def _rules_and_plan(checked: SchemaChecked) -> tuple[list[Problem], Plan | None]:
    problems = checked.rule_problems()
    if checked.catalog is None or checked.stack.shard.role is ShardRole.MODELS:
        return problems, None  # a models shard exports no plan: the base plans every shard's models
    try:
        return problems, capacity_plan(checked.catalog, checked.stack)
    except Exception:  # a catalog the rules reject: the program, planning it here, fails as it would
        return problems, None


@contextmanager
def rules_beside(checked: SchemaChecked, *, fork: bool | None = None) -> Iterator[Beside]:
    """Yields the catalog's verdict and plan. Where no child can be forked (`fork`, default
    `forked.can_fork()`) the rules run before this yields, as they did before, and there is no plan; a
    catalog the schema already rejected is reported at once."""
    if checked.schema_failed or not (can_fork() if fork is None else fork):
        loaded = checked.finish(checked.rule_problems())
        yield Beside(lambda: loaded, lambda: None)
        return
    with beside(lambda: _rules_and_plan(checked), fork=True) as found:
        yield Beside(lambda: checked.finish(found()[0]), lambda: found()[1])
