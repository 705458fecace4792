"""Catalog rules of the workload: problems that would otherwise surface only when a pod starts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components.catalog.errors import CatalogError, Problem
from components.validation.loader import load_catalog, load_stack_config

from .conftest import Project, version_of


def problems_after(project: Project, change: Callable[[dict[str, Any]], None]) -> list[Problem]:
    project.edit(change)
    with pytest.raises(CatalogError) as raised:
        load_catalog(project.catalog_path, load_stack_config(project.root, "dev"))
    return raised.value.errors


def only_problem(problems: list[Problem], path: str) -> Problem:
    found = [p for p in problems if p.path == path]
    assert len(found) == 1, [str(p) for p in problems]
    return found[0]


def test_a_key_in_both_config_and_config_files_is_refused(project: Project) -> None:
    def clash(catalog: dict[str, Any]) -> None:
        version_of(catalog, "llm-chat", "v1")["configFiles"] = {"max_num_seqs": "64\n"}

    problem = only_problem(
        problems_after(project, clash), "models.llm-chat.versions.v1.configFiles.max_num_seqs"
    )
    assert "both a config key and a config file" in problem.message


def test_an_environment_variable_set_twice_is_refused(project: Project) -> None:
    def twice(catalog: dict[str, Any]) -> None:
        version_of(catalog, "llm-chat", "v1")["env"].append({"name": "HF_TOKEN", "value": "x"})

    problem = only_problem(problems_after(project, twice), "models.llm-chat.versions.v1.env[2].name")
    assert "HF_TOKEN is set twice" in problem.message


@pytest.mark.parametrize(("name", "field"), [("MODEL_WEIGHTS_PATH", "modelWeights.mountPath")])
def test_a_variable_modelstack_injects_is_refused(project: Project, name: str, field: str) -> None:
    def shadow(catalog: dict[str, Any]) -> None:
        version_of(catalog, "llm-chat", "v2")["env"].append({"name": name, "value": "x"})

    problem = only_problem(problems_after(project, shadow), "models.llm-chat.versions.v2.env[2].name")
    assert f"set by modelstack from `{field}`" in problem.message


def test_weights_covering_a_writable_path_are_refused(project: Project) -> None:
    def over_cache(catalog: dict[str, Any]) -> None:
        version_of(catalog, "llm-chat", "v1")["modelWeights"]["mountPath"] = "/home/model"

    problem = only_problem(
        problems_after(project, over_cache), "models.llm-chat.versions.v1.modelWeights.mountPath"
    )
    assert "/home/model/.cache" in problem.message
    assert problem.line > 1


def test_weights_on_the_config_files_path_are_refused(project: Project) -> None:
    def over_config(catalog: dict[str, Any]) -> None:
        spec = version_of(catalog, "llm-chat", "v1")
        spec["configFiles"] = {"template.jinja": "x"}
        spec["modelWeights"]["mountPath"] = "/etc/modelstack"

    problem = only_problem(
        problems_after(project, over_config), "models.llm-chat.versions.v1.modelWeights.mountPath"
    )
    assert "/etc/modelstack/config" in problem.message


def test_a_relative_writable_path_is_refused(project: Project) -> None:
    def relative(catalog: dict[str, Any]) -> None:
        catalog["models"]["text-embedder"]["serverOverrides"]["writablePaths"] = ["/tmp", "cache"]

    problem = only_problem(
        problems_after(project, relative), "models.text-embedder.serverOverrides.writablePaths[1]"
    )
    assert "not an absolute path" in problem.message


def test_whole_gpus_on_a_mixed_mig_pool_are_a_located_error_not_a_traceback(project: Project) -> None:
    """The mixed strategy has no resource name for a whole GPU (the GPU pools' rule reports it, located)."""

    def whole(catalog: dict[str, Any]) -> None:
        del version_of(catalog, "vision-detector", "v7")["resources"]["migProfile"]

    problems = problems_after(project, whole)
    at_gpu = [p for p in problems if p.path == "models.vision-detector.versions.v7.resources.gpu"]
    assert at_gpu and all("migProfile" in p.message and p.line > 1 for p in at_gpu)
    with pytest.raises(CatalogError):
        project.render("dev")


def test_an_invalid_catalog_registers_no_resource(project: Project) -> None:
    def clash(catalog: dict[str, Any]) -> None:
        version_of(catalog, "llm-chat", "v1")["configFiles"] = {"max_num_seqs": "64\n"}

    project.edit(clash)
    with pytest.raises(CatalogError):
        project.render("dev")
