"""Item 4 of issue #20: every preset speaks its server's real interface (flags, variables, ports, paths)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.catalog.errors import CatalogError
from components.catalog.server import PRESETS, ServerKind
from components.validation.loader import load_catalog, load_stack_config
from components.workload.pod import container_spec
from tests.foundation.catalog_project import CATALOG, line_of, make_project
from tests.upstream.facts import UPSTREAM, model, version_args

DOCS = Path(__file__).resolve().parents[2] / "docs" / "upstream-interfaces.md"


def _container(server: str, **version: Any) -> dict[str, Any]:
    return container_spec(version_args(model(server, **version)), "image")


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container["env"]}


def _problems(tmp_path: Path, catalog: str) -> list[str]:
    root = make_project(tmp_path, catalog)
    try:
        load_catalog(root / "models.yaml", load_stack_config(root, "test"))
    except CatalogError as error:
        return [str(p) for p in error.errors]
    return []


@pytest.mark.parametrize("server", sorted(UPSTREAM))
def test_every_preset_matches_the_servers_documented_endpoints(server: str) -> None:
    preset, upstream = PRESETS[ServerKind(server)], UPSTREAM[server]
    bound = int(_env(_container(server, precision="bf16")).get(preset.port_env or "", preset.port))
    assert bound == upstream.port == preset.port
    assert (preset.metrics_port, preset.metrics_path) == (upstream.metrics_port, upstream.metrics_path)
    assert (preset.liveness_path, preset.readiness_path) == (upstream.liveness_path, upstream.readiness_path)
    assert preset.queue_metric == upstream.queue_metric
    assert set(preset.precision_values.values()) <= upstream.precision_values


@pytest.mark.parametrize(
    ("precision", "dtype"), [("fp32", "float32"), ("fp16", "float16"), ("bf16", "bfloat16")]
)
def test_vllm_reads_precision_from_the_dtype_flag_not_a_variable(precision: str, dtype: str) -> None:
    container = _container("vllm", precision=precision, args=["--model", "/models/x"])
    assert container["args"] == ["--model", "/models/x", "--dtype", dtype]
    assert dtype in UPSTREAM["vllm"].precision_values
    assert not {"DTYPE", "MODEL_PRECISION"} & set(_env(container))


@pytest.mark.parametrize(("precision", "dtype"), [("fp16", "float16"), ("bf16", "bfloat16")])
def test_tgi_reads_precision_from_the_dtype_variable_in_the_launchers_spelling(
    precision: str, dtype: str
) -> None:
    container = _container("tgi", precision=precision)
    assert _env(container)["DTYPE"] == dtype
    assert "args" not in container


def test_tgi_binds_the_presets_port_not_the_images_port_80() -> None:
    container = _container("tgi", precision="bf16")
    assert _env(container)["PORT"] == "8080"
    assert [p["containerPort"] for p in container["ports"]] == [8080]


def test_tgi_at_fp32_is_a_located_error(tmp_path: Path) -> None:
    catalog = CATALOG.replace("precision: bf16", "precision: fp32")
    problems = _problems(tmp_path, catalog)
    assert len(problems) == 1
    where = f"models.yaml:{line_of(catalog, 'precision: fp32')}:20: models.embedder.versions.v1.precision"
    assert f"{where}: server tgi cannot run fp32" in problems[0]
    assert "set precision to one of: fp16, bf16" in problems[0]


def test_a_dtype_flag_in_vllm_args_is_refused(tmp_path: Path) -> None:
    catalog = CATALOG.replace(
        "        nodePool: gpu-a\n", "        nodePool: gpu-a\n        args: [--dtype=half]\n", 1
    )
    problems = _problems(tmp_path, catalog)
    assert len(problems) == 1
    assert "models.llm.versions.v1.args[0]: --dtype is set by modelstack from `precision`" in problems[0]


@pytest.mark.parametrize("name", ["DTYPE", "PORT"])
def test_a_variable_the_tgi_launcher_gets_from_modelstack_is_refused(tmp_path: Path, name: str) -> None:
    catalog = CATALOG.replace(
        "        precision: bf16\n", f"        precision: bf16\n        env: [{{name: {name}, value: x}}]\n"
    )
    problems = _problems(tmp_path, catalog)
    assert len(problems) == 1 and f"{name} is set by modelstack" in problems[0]


def test_the_docs_table_states_the_facts_the_tests_check() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for server, fact in UPSTREAM.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| {server} |"))
        for value in (
            fact.port,
            fact.metrics_port,
            fact.metrics_path,
            fact.readiness_path,
            fact.queue_metric,
        ):
            assert f"`{value}`" in row or f" {value} " in row, (server, value)
