"""Fixtures of the real-engine tests: the toolchain, a network-free Pulumi, project copies.

Every test here is marked `integration` and `engine`, and runs in one xdist group: the stacks share
one backend and each step of a release builds on the previous one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.engine import (
    Deployed,
    EngineError,
    Pulumi,
    Stack,
    Toolchain,
    build_toolchain,
    new_stack,
    offline_render,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "engine: runs the real Pulumi CLI and Kubernetes provider")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.engine)
            item.add_marker(pytest.mark.xdist_group("engine"))


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    if shutil.which("go") is None and shutil.which("pulumi") is None and os.environ.get("CI") != "true":
        pytest.skip("neither Go (to build the engine) nor a pulumi CLI is available")
    try:
        return build_toolchain()
    except EngineError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def engine(toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Pulumi:
    """A Pulumi with its own home (the built provider installed) and a `file://` backend."""
    base = tmp_path_factory.mktemp("pulumi")
    pulumi = Pulumi(toolchain, home=base / "home", backend=base / "state")
    pulumi.install_provider()
    return pulumi


@pytest.fixture()
def dev_stack(engine: Pulumi, tmp_path: Path) -> Iterator[Stack]:
    with new_stack(engine, tmp_path) as stack:
        yield stack


@pytest.fixture(scope="session")
def deployed_dev(engine: Pulumi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """The dev stack of a project copy, previewed once and then up, as `modelstack render` saw it."""
    with new_stack(engine, tmp_path_factory.mktemp("dev-stack")) as stack:
        objects, outputs = offline_render(stack.project, "dev", stack.project.parent / "offline")
        first = stack.preview()
        stack.up()
        yield Deployed(stack, first, objects, outputs)
