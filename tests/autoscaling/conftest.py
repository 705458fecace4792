"""Small catalogs written to a temporary project, loaded or rendered like the repository's own."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.catalog.errors import CatalogError
from components.catalog.model import ModelSpec
from components.catalog.stack_config import StackConfig
from components.validation.loader import LoadedCatalog, load_catalog, load_stack_config
from modelstack.engine.render import Render, run_program

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "registry.example.com/models/m@sha256:" + "ab" * 32
NAMESPACE = "ml-test"
KEDA, ADAPTER = "keda", "prometheus-adapter"
PROMETHEUS = "http://prometheus.metrics.svc:9090"


def stack_file(engine: str) -> str:
    return f"""\
config:
  modelstack:namespace: {NAMESPACE}
  modelstack:monitoring:
    serviceMonitorLabels: {{release: prom}}
    adapterNamespace: metrics
  modelstack:autoscaling:
    engine: {engine}
    prometheusAddress: {PROMETHEUS}
"""


def catalog_text(models: str) -> str:
    """A catalog whose `models:` block is `models` (dedented); `IMAGE` is a valid pinned image."""
    return (
        "apiVersion: modelstack/v1\nmodels:\n"
        + textwrap.indent(textwrap.dedent(models).strip("\n"), "  ")
        + "\n"
    )


@pytest.fixture
def load(tmp_path: Path) -> Callable[[str], LoadedCatalog]:
    """`load(models)`: validate a catalog as `models.yaml` in a temporary directory."""

    def run(models: str) -> LoadedCatalog:
        path = tmp_path / "models.yaml"
        path.write_text(catalog_text(models))
        return load_catalog(path, StackConfig(namespace=NAMESPACE))

    return run


@pytest.fixture
def problems(load: Callable[[str], LoadedCatalog], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`problems(models)`: every located problem (errors and warnings) as the user reads it."""
    monkeypatch.chdir(tmp_path)

    def run(models: str) -> list[str]:
        try:
            return [str(w) for w in load(models).warnings]
        except CatalogError as exc:
            return [str(p) for p in exc.problems]

    return run


@pytest.fixture
def render_catalog(tmp_path: Path) -> Callable[[str], Render]:
    """`render_catalog(models, engine=...)`: run the Pulumi program on a catalog under the mock runtime, on
    the KEDA engine (the default) or prometheus-adapter."""

    def run(models: str, engine: str = KEDA) -> Render:
        (tmp_path / "Pulumi.test.yaml").write_text(stack_file(engine))
        (tmp_path / "models.yaml").write_text(catalog_text(models))
        return run_program(tmp_path, "test")

    return run


def of_kind(render: Render, kind: str) -> dict[str, dict[str, Any]]:
    return {m.name: m.body for m in render.manifests if m.kind == kind}


@pytest.fixture(scope="session")
def prod_models() -> dict[str, ModelSpec]:
    """The repository's catalog, validated against the prod stack."""
    stack = load_stack_config(ROOT, "prod")
    return dict(load_catalog(ROOT / stack.catalog, stack).catalog.models)
