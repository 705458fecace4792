"""Random edits of a valid catalog either load, or fail with located messages — never a traceback,
never a partial render."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.catalog.errors import CatalogError
from modelstack.engine import mocks
from modelstack.engine.render import run_program
from tests.foundation.catalog_project import CATALOG, make_project

BASE: dict[str, Any] = yaml.safe_load(CATALOG)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 300),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["v1", "gpu-a", "fp16", "latest", "sha256:00", "-1"]),
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


ALL_PATHS = [p for p in paths(BASE) if p]


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent: Any = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            last = path[-1]
            action = draw(st.sampled_from(["replace", "delete", "rename", "add"]))
            if action == "replace":
                parent[last] = draw(SCALARS)
            elif action == "delete":
                del parent[last]
            elif action == "rename" and isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=10))] = parent.pop(last)
            elif action == "add" and isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=10))] = draw(SCALARS)
        except (KeyError, IndexError, TypeError):
            continue
    return data


def _check_problems(exc: CatalogError, catalog_path: Path) -> None:
    assert exc.problems
    for problem in exc.problems:
        assert problem.file.endswith(("models.yaml", ".yaml"))
        assert problem.line >= 1 and problem.column >= 1
        assert str(problem).startswith(f"{problem.file}:{problem.line}:{problem.column}: ")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated())
def test_mutated_catalog_loads_or_fails_with_located_messages(data: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp), yaml.safe_dump(data, sort_keys=False))
        registered: list[str] = []
        original = mocks.RecordingMocks.new_resource

        def counting(self: mocks.RecordingMocks, args: Any) -> Any:
            registered.append(args.typ)
            return original(self, args)

        mocks.RecordingMocks.new_resource = counting  # type: ignore[method-assign]
        try:
            render = run_program(root, "test")
        except CatalogError as exc:
            _check_problems(exc, root / "models.yaml")
            assert registered == [], "an invalid catalog must register no resource"
        else:
            assert render.manifests
        finally:
            mocks.RecordingMocks.new_resource = original  # type: ignore[method-assign]
