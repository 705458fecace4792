"""The layout stays the one the README draws: no import cycles, and every layer imports only below it.

A small AST walk over the project's own modules. Every import counts, wherever it is written (inside a
function, under `TYPE_CHECKING`): a circle that only a deferred import keeps from failing at start-up
is still a circle a reader has to untangle. Importing `a.b.c` is an edge to `a.b.c` only; the package
`__init__` files Python runs on the way are not edges, or every package that re-exports its modules
would be a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Where a module name starts: the policy host imports the pack's modules from inside `policy/`, and the
# example server (run as a script) its package from inside `examples/model-server/`.
IMPORT_ROOTS: dict[Path, tuple[str, ...]] = {
    ROOT: ("components", "modelstack", "bench", "examples/consumer"),
    ROOT / "policy": ("policies",),
    ROOT / "examples" / "model-server": ("server", "mlp_server", "make_weights"),
}

# Where a module that outgrew one idea is refused, and past how many lines. Generous on purpose: it
# catches a file that grew a second subject (issue 15 split the three that had), not a long one.
LENGTH_CHECKED = ("components", "modelstack", "policy", "examples")
MAX_MODULE_LINES = 500

# Layer -> the layers of the project it may import (itself always), each with the layers inside it.
# The longest prefix decides a module's layer; modules outside every layer are only checked for cycles.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "components.facts": frozenset(),
    "components.catalog": frozenset({"components.facts"}),
    "components": frozenset({"components.facts", "components.catalog"}),
    "modelstack.engine": frozenset({"components"}),
    "modelstack.release": frozenset({"components", "modelstack.engine"}),
    "modelstack.cli": frozenset({"components", "modelstack.engine", "modelstack.release"}),
    "policies": frozenset(),
}


def _module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def project_modules() -> Mapping[str, Path]:
    """Dotted name -> file, for every Python file of the project's own packages."""
    modules: dict[str, Path] = {}
    for base, tops in IMPORT_ROOTS.items():
        for top in tops:
            single = base / f"{top}.py"
            files = [single] if single.exists() else sorted((base / top).rglob("*.py"))
            for path in files:
                if "wheelhouse" not in path.parts:
                    modules[_module_name(path, base)] = path
    return modules


def _is_package(name: str) -> bool:
    return project_modules()[name].name == "__init__.py"


def _known(name: str) -> str | None:
    """The project module `name` is, or the nearest project package above it (None: not ours)."""
    modules = project_modules()
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports_of(name: str) -> set[str]:
    """Project modules `name` imports, anywhere in its file."""
    tree = ast.parse(project_modules()[name].read_text(encoding="utf-8"))
    package = name if _is_package(name) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            # `from pkg import mod` names a module when pkg.mod is one, else a name in pkg.
            targets = [f"{source}.{alias.name}" for alias in node.names]
            targets = [t if t in project_modules() else source for t in targets]
        else:
            continue
        found.update(k for t in targets if (k := _known(t)) is not None and k != name)
    return found


def import_graph() -> dict[str, set[str]]:
    return {name: imports_of(name) for name in project_modules()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(name: str) -> str | None:
    matches = [layer for layer in MAY_IMPORT if name == layer or name.startswith(f"{layer}.")]
    return max(matches, key=len) if matches else None


def layer_violations(graph: Mapping[str, set[str]]) -> Iterator[str]:
    for name, targets in sorted(graph.items()):
        layer = layer_of(name)
        if layer is None:
            continue
        allowed = MAY_IMPORT[layer] | {layer}
        for target in sorted(targets):
            target_layer = layer_of(target)
            if target_layer is not None and not any(
                target_layer == a or target_layer.startswith(f"{a}.") for a in allowed
            ):
                yield f"{name} ({layer}) imports {target} ({target_layer})"


def test_the_walk_sees_the_project() -> None:
    """Guards the walk itself: an empty or unresolved graph would pass every other test."""
    graph = import_graph()
    assert "components.catalog.catalog" in graph
    assert "components.catalog.model" in graph["components.catalog.catalog"]
    assert sum(len(targets) for targets in graph.values()) > 100


def test_the_walk_sees_the_example_server_from_its_own_directory() -> None:
    graph = import_graph()
    assert {"mlp_server.app", "mlp_server.config", "mlp_server.http_server"} <= graph["server"]
    assert "mlp_server.protocol" in graph["mlp_server.app"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_among_the_projects_modules() -> None:
    assert cycles(import_graph()) == []


def test_the_catalog_schema_imports_only_itself_and_the_facts_below_it() -> None:
    graph = import_graph()
    catalog = {n: t for n, t in graph.items() if layer_of(n) in ("components.catalog", "components.facts")}
    assert catalog, "no catalog modules found"
    assert list(layer_violations(catalog)) == []


def test_every_layer_imports_only_the_layers_below_it() -> None:
    assert list(layer_violations(import_graph())) == []


def long_modules(tops: tuple[str, ...], limit: int) -> dict[str, int]:
    """Project-relative path -> line count, for every Python file under `tops` longer than `limit`."""
    found: dict[str, int] = {}
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            if {"wheelhouse", "__pycache__"} & set(path.parts):
                continue
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > limit:
                found[path.relative_to(ROOT).as_posix()] = lines
    return found


def test_the_length_check_sees_the_project() -> None:
    """Guards the check itself: a wrong root would find no file, and so no file too long."""
    assert "examples/model-server/server.py" in long_modules(LENGTH_CHECKED, 0)
    assert "components/catalog/catalog.py" in long_modules(LENGTH_CHECKED, 0)


def test_no_module_outgrows_one_idea() -> None:
    too_long = long_modules(LENGTH_CHECKED, MAX_MODULE_LINES)
    assert too_long == {}, (
        f"longer than {MAX_MODULE_LINES} lines: {too_long} — split each into modules of one idea, "
        "each with a docstring saying what it owns"
    )
