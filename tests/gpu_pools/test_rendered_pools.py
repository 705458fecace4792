"""What the cluster gets for the node pools: Karpenter NodePools, the mig-parted ConfigMap, and nothing for
existing pools — all accepted by the shared manifest validator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from modelstack.engine.render import Render, run_program
from tests.conftest import objects_of_kind
from tests.gpu_pools.project import STACK_NAME, make_project


@pytest.fixture(scope="module")
def project_render(tmp_path_factory: pytest.TempPathFactory) -> Render:
    return run_program(make_project(tmp_path_factory.mktemp("gpus")), STACK_NAME)


def node_pools(render: Render) -> dict[str, dict[str, Any]]:
    return objects_of_kind(render, "NodePool")


def mig_parted_document(render: Render) -> dict[str, Any]:
    config_map = objects_of_kind(render, "ConfigMap")["modelstack-mig-parted-config"]
    assert config_map["metadata"]["namespace"] == "gpu-operator"
    loaded: dict[str, Any] = yaml.safe_load(config_map["data"]["config.yaml"])
    return loaded


def requirement(pool: dict[str, Any], key: str) -> list[str] | None:
    found = [r for r in pool["spec"]["template"]["spec"]["requirements"] if r["key"] == key]
    return found[0]["values"] if found else None


def test_prod_has_one_karpenter_node_pool_per_pool(prod_render: Render) -> None:
    assert sorted(node_pools(prod_render)) == ["cpu-general", "gpu-h100", "gpu-h100-mig"]


def test_existing_pools_create_no_node_pool(project_render: Render) -> None:
    assert sorted(node_pools(project_render)) == ["mixed", "whole"]


def test_a_gpu_node_pool_is_limited_to_max_nodes_worth_of_gpus_cpu_and_memory(prod_render: Render) -> None:
    pool = node_pools(prod_render)["gpu-h100"]

    assert pool["spec"]["limits"] == {"nvidia.com/gpu": "32", "cpu": "768", "memory": "8192Gi"}


def test_a_gpu_node_pool_asks_for_its_instance_types_zones_and_gpu(prod_render: Render) -> None:
    pool = node_pools(prod_render)["gpu-h100"]

    assert requirement(pool, "node.kubernetes.io/instance-type") == ["p5.48xlarge"]
    assert requirement(pool, "topology.kubernetes.io/zone") == ["us-east-1a", "us-east-1b"]
    assert requirement(pool, "karpenter.k8s.aws/instance-gpu-manufacturer") == ["nvidia"]
    assert requirement(pool, "karpenter.k8s.aws/instance-gpu-name") == ["h100"]
    assert requirement(pool, "karpenter.k8s.aws/instance-gpu-count") == ["8"]
    assert requirement(pool, "nvidia.com/gpu.product") == ["NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-PCIe"]


def test_a_cpu_node_pool_has_no_gpu_requirement_taint_or_limit(prod_render: Render) -> None:
    pool = node_pools(prod_render)["cpu-general"]

    assert requirement(pool, "karpenter.k8s.aws/instance-gpu-manufacturer") is None
    assert "taints" not in pool["spec"]["template"]["spec"]
    assert "nvidia.com/gpu" not in pool["spec"]["limits"]


def test_gpu_nodes_carry_the_gpu_taint_and_the_pool_label(prod_render: Render) -> None:
    template = node_pools(prod_render)["gpu-h100"]["spec"]["template"]

    assert template["spec"]["taints"] == [
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    ]
    assert template["metadata"]["labels"]["modelstack.io/node-pool"] == "gpu-h100"


def test_mig_pool_nodes_are_labelled_with_their_mig_parted_config(prod_render: Render) -> None:
    labels = node_pools(prod_render)["gpu-h100-mig"]["spec"]["template"]["metadata"]["labels"]

    assert labels["nvidia.com/mig.config"] == "modelstack-gpu-h100-mig"
    assert "modelstack-gpu-h100-mig" in mig_parted_document(prod_render)["mig-configs"]


def test_whole_gpu_nodes_of_a_mig_capable_gpu_keep_mig_disabled(prod_render: Render) -> None:
    labels = node_pools(prod_render)["gpu-h100"]["spec"]["template"]["metadata"]["labels"]

    assert labels["nvidia.com/mig.config"] == "all-disabled"
    assert mig_parted_document(prod_render)["mig-configs"]["all-disabled"] == [
        {"devices": "all", "mig-enabled": False}
    ]


def test_the_mig_parted_config_applies_each_mig_pools_layout_to_every_gpu(project_render: Render) -> None:
    configs = mig_parted_document(project_render)["mig-configs"]

    assert configs["modelstack-mixed"] == [
        {"devices": "all", "mig-enabled": True, "mig-devices": {"1g.5gb+me": 1, "2g.10gb": 1, "3g.20gb": 1}}
    ]
    assert configs["modelstack-single"] == [
        {"devices": "all", "mig-enabled": True, "mig-devices": {"1g.10gb": 7}}
    ]


def test_gpu_pools_only_lose_empty_nodes_and_never_drift_in_business_hours(prod_render: Render) -> None:
    disruption = node_pools(prod_render)["gpu-h100-mig"]["spec"]["disruption"]

    assert disruption["consolidationPolicy"] == "WhenEmpty"
    assert {"nodes": "0", "reasons": ["Drifted"], "schedule": "0 8 * * 1-5", "duration": "12h"} in disruption[
        "budgets"
    ]
    assert {"nodes": "1"} in disruption["budgets"]


def test_nodes_expire_with_a_bounded_drain(prod_render: Render) -> None:
    spec = node_pools(prod_render)["gpu-h100"]["spec"]["template"]["spec"]

    assert (spec["expireAfter"], spec["terminationGracePeriod"]) == ("720h", "2h")


def test_a_stack_without_mig_pools_renders_no_mig_parted_config(tmp_path: Path) -> None:
    from tests.gpu_pools.project import CATALOG, STACK

    whole_only = STACK.split("    - name: mixed")[0]
    catalog = CATALOG.split("  detector:")[0]

    render = run_program(make_project(tmp_path, catalog, whole_only), STACK_NAME)

    assert "modelstack-mig-parted-config" not in objects_of_kind(render, "ConfigMap")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rendered_stacks_pass_the_shared_validator(
    render_of: Any, manifest_validator: Any, tmp_path: Path, stack: str
) -> None:
    result = manifest_validator(render_of(stack), tmp_path)

    assert result.returncode == 0, result.stdout


def test_the_project_with_every_kind_of_pool_passes_the_shared_validator(
    project_render: Render, manifest_validator: Any, tmp_path: Path
) -> None:
    result = manifest_validator(project_render, tmp_path)

    assert result.returncode == 0, result.stdout
