"""Shared fixtures: the repository, renders of its stacks, and the shared manifest validator."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from modelstack.engine.render import Render, run_program, write_render

ROOT = Path(__file__).resolve().parent.parent
# Every `modelstack` the tests run (in-process or as a subprocess) uses a render cache of this session, not
# the user's ~/.cache; processes of one session share it like concurrent CI jobs would.
if "MODELSTACK_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["MODELSTACK_CACHE_DIR"] = tempfile.mkdtemp(prefix="modelstack-test-cache-")
SHARED = ROOT.parent / "shared"
VALIDATOR = SHARED / "tools" / "validate_manifests.py"


FRESH = "MODELSTACK_TEST_FRESH_INTERPRETER"
"""Set to a test's node id in the interpreter that runs it for `fresh_interpreter`."""


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """A test marked `fresh_interpreter` runs in a new pytest process of its own: code that forks only
    where no other thread runs (`modelstack.engine.forked`) would otherwise meet the threads other tests
    of this worker left running, and take its no-fork path unseen."""
    if (
        pyfuncitem.get_closest_marker("fresh_interpreter") is None
        or os.environ.get(FRESH) == pyfuncitem.nodeid
    ):
        return None
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "-q", pyfuncitem.nodeid],
        cwd=ROOT,
        env={**os.environ, FRESH: pyfuncitem.nodeid},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.fail(
            f"in a fresh interpreter:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}", pytrace=False
        )
    return True


@functools.cache
def _render(stack: str) -> Render:
    return run_program(ROOT, stack)


ENGINE_LINE = "    engine: keda\n"


@functools.cache
def _render_with_engine(stack: str, engine: str) -> Render:
    """The repository's stack with `autoscaling.engine` switched, rendered from a copy of the project (the
    catalog and its build contexts must lie inside the project the stack file belongs to)."""
    project = Path(tempfile.mkdtemp(prefix=f"modelstack-{stack}-{engine}-"))
    for name in ("Pulumi.yaml", "models.yaml"):
        shutil.copy2(ROOT / name, project / name)
    shutil.copytree(ROOT / "examples", project / "examples")
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    assert text.count(ENGINE_LINE) == 1, f"Pulumi.{stack}.yaml no longer sets `engine: keda` once"
    (project / f"Pulumi.{stack}.yaml").write_text(text.replace(ENGINE_LINE, f"    engine: {engine}\n"))
    return run_program(project, stack)


def manifests_by_key(render: Render) -> dict[str, dict[str, Any]]:
    return {m.key: m.body for m in render.manifests}


def objects_of_kind(render: Render, kind: str) -> dict[str, dict[str, Any]]:
    """Rendered objects of one kind, by metadata.name."""
    return {m.name: m.body for m in render.manifests if m.kind == kind}


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def dev_render() -> Render:
    return _render("dev")


@pytest.fixture(scope="session")
def prod_render() -> Render:
    return _render("prod")


@pytest.fixture(scope="session")
def prod_adapter_render() -> Render:
    """The prod stack on the prometheus-adapter engine (HPAs and this stack's adapter rules)."""
    return _render_with_engine("prod", "prometheus-adapter")


@pytest.fixture(scope="session")
def render_with_engine():
    """`render_with_engine(stack, engine)`: the repository's stack on another autoscaling engine."""
    return _render_with_engine


@pytest.fixture(scope="session")
def render_of():
    """`render_of(stack)`: the repository's stack rendered once per test session."""
    return _render


def run_validator(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(VALIDATOR), str(directory)], capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="session")
def manifest_validator():
    """Runs ../shared/tools/validate_manifests.py over a render; absent shared/ fails under CI=true."""
    if not VALIDATOR.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{VALIDATOR} is missing: CI must have ../shared beside the repository")
        pytest.skip("../shared is not beside this checkout")

    def validate(render: Render, tmp: Path) -> subprocess.CompletedProcess[str]:
        out = tmp / "render"
        write_render(render, out)
        return run_validator(out)

    return validate
