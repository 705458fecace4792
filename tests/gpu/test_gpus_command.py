"""Specification of ``modelstack gpus`` (modelstack.cli.commands.gpus.command), with pynvml faked."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from gpu_nvml_fake import NVML_ERROR_DRIVER_NOT_LOADED, NVML_ERROR_LIBRARY_NOT_FOUND, FakePynvml, load_device

from modelstack.cli.commands.gpus import command

H100 = load_device("h100-80gb-hbm3.json")


Installer = Callable[..., FakePynvml]


@pytest.fixture
def node(monkeypatch: pytest.MonkeyPatch) -> Installer:
    """Install a fake pynvml where `import pynvml` finds it; returns a function to set its answers."""

    def install(*devices: dict[str, Any], **options: Any) -> FakePynvml:
        fake = FakePynvml(list(devices), **options)
        monkeypatch.setitem(sys.modules, "pynvml", fake)
        return fake

    return install


def invoke(*args: str) -> Result:
    return CliRunner().invoke(command, list(args))


def test_prints_the_inventory_as_yaml_by_default(node: Installer) -> None:
    node(H100)
    result = invoke()
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["gpus"][0]["product_label"] == "NVIDIA-H100-80GB-HBM3"


def test_prints_the_inventory_as_json_on_request(node: Installer) -> None:
    node(H100)
    result = invoke("--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3"


def test_check_exits_0_and_lists_no_differences_when_hardware_matches_the_catalog(node: Installer) -> None:
    node(H100)
    result = invoke("--check")
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["catalog_differences"] == []


def test_check_exits_1_and_lists_the_differences(node: Installer) -> None:
    device = load_device("h100-80gb-hbm3.json")
    device["gpu_instance_profiles"]["0"]["instanceCount"] = 6
    node(device)
    result = invoke("--check", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["catalog_differences"] == [
        "GPU 0 (H100-80GB): profile 1g.10gb: max instances catalog 7 != NVML 6"
    ]
    assert result.stderr == "modelstack gpus: 1 difference(s) from the built-in GPU catalog\n"


def test_without_check_differences_do_not_change_the_exit_code(node: Installer) -> None:
    node(dict(H100, name="NVIDIA RTX 4090"))
    assert invoke().exit_code == 0


@pytest.mark.parametrize("error", [NVML_ERROR_LIBRARY_NOT_FOUND, NVML_ERROR_DRIVER_NOT_LOADED])
def test_without_nvml_prints_one_line_to_stderr_and_exits_3(node: Installer, error: int) -> None:
    node(H100, init_error=error)
    result = invoke("--check")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(
        "modelstack gpus: NVML is not usable here"
    )
    assert "Traceback" not in result.output


def test_without_a_gpu_prints_one_line_to_stderr_and_exits_3(node: Installer) -> None:
    node()
    result = invoke()
    assert (result.exit_code, result.stderr) == (
        3,
        "modelstack gpus: NVML found no NVIDIA GPU on this machine\n",
    )


def test_help_documents_the_exit_codes() -> None:
    help_text = invoke("--help").stdout
    assert all(
        line in help_text
        for line in ("0  inventory printed", "1  --check found differences", "3  NVML is not usable here")
    )
