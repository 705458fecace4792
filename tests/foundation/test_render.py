"""Rendering both stacks: valid manifests, deterministic bytes, explicit provider, located config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.catalog.errors import CatalogError
from modelstack.engine.render import Render, render_stack, run_program
from tests.foundation.catalog_project import CATALOG, STACK, make_project


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rendered_stack_passes_the_shared_validator(
    stack: str, render_of, manifest_validator, tmp_path: Path
) -> None:
    result = manifest_validator(render_of(stack), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 failed" in result.stdout


def test_rendering_twice_is_byte_identical(project_root: Path, tmp_path: Path) -> None:
    render_stack(project_root, "dev", tmp_path / "a")
    render_stack(project_root, "dev", tmp_path / "b")
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b and files_a
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_every_kubernetes_resource_uses_the_explicit_provider(dev_render: Render) -> None:
    kube = [
        r
        for r in dev_render.resources
        if r.type.startswith("kubernetes:") and not r.type.startswith("pulumi:")
    ]
    assert kube
    providers = [r for r in dev_render.resources if r.type == "pulumi:providers:kubernetes"]
    assert len(providers) == 1


def test_dev_provider_renders_yaml_to_a_directory(dev_render: Render) -> None:
    provider = next(r for r in dev_render.resources if r.type == "pulumi:providers:kubernetes")
    assert provider.inputs["renderYamlToDirectory"] == "build/dev-manifests"


def test_prod_provider_targets_an_explicit_context(prod_render: Render) -> None:
    provider = next(r for r in prod_render.resources if r.type == "pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "prod-gpu"
    assert "renderYamlToDirectory" not in provider.inputs


def test_each_version_gets_a_deployment_and_service_named_model_dash_version(dev_render: Render) -> None:
    names = {(m.kind, m.name) for m in dev_render.manifests}
    for model, version in [
        ("llm-chat", "v1"),
        ("llm-chat", "v2"),
        ("vision-detector", "v7"),
        ("text-embedder", "v1"),
    ]:
        assert ("Deployment", f"{model}-{version}") in names
        assert ("Service", f"{model}-{version}") in names


def test_outputs_json_holds_the_stack_exports(project_root: Path, tmp_path: Path) -> None:
    render_stack(project_root, "dev", tmp_path / "out")
    outputs = json.loads((tmp_path / "out" / "outputs.json").read_text())
    assert outputs
    assert "ml-dev" in json.dumps(outputs)


def test_invalid_stack_config_is_located_in_the_stack_file(tmp_path: Path) -> None:
    root = make_project(tmp_path, CATALOG, STACK.replace("gpusPerNode: 8", "gpusPerNode: eight"))
    with pytest.raises(CatalogError) as err:
        run_program(root, "test")
    problem = err.value.problems[0]
    assert problem.file.endswith("Pulumi.test.yaml")
    assert problem.path == "modelstack:nodePools[0].gpusPerNode"
    assert problem.line == STACK.splitlines().index("      gpusPerNode: 8") + 1
