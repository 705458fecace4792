"""Rendered Deployments carry scheduling derived from their node pool: tolerations for the pool's taints,
required affinity to the pool and its GPU product, and the device plugin's resource name for the request."""

from __future__ import annotations

from typing import Any

import pytest

from modelstack.engine.render import Render, run_program
from tests.conftest import objects_of_kind
from tests.gpu_pools.project import STACK_NAME, make_project

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}


@pytest.fixture(scope="module")
def project_render(tmp_path_factory: pytest.TempPathFactory) -> Render:
    return run_program(make_project(tmp_path_factory.mktemp("gpus")), STACK_NAME)


def pod_spec(render: Render, deployment: str) -> dict[str, Any]:
    spec: dict[str, Any] = objects_of_kind(render, "Deployment")[deployment]["spec"]["template"]["spec"]
    return spec


def required_node_terms(render: Render, deployment: str) -> list[dict[str, Any]]:
    affinity = pod_spec(render, deployment)["affinity"]["nodeAffinity"]
    terms: list[dict[str, Any]] = affinity["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    return terms


def server_resources(render: Render, deployment: str) -> dict[str, Any]:
    containers = pod_spec(render, deployment)["containers"]
    resources: dict[str, Any] = next(c for c in containers if c["name"] == "server")["resources"]
    return resources


def pool_terms(pool: str, products: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "matchExpressions": [
                {"key": "modelstack.io/node-pool", "operator": "In", "values": [pool]},
                {"key": "nvidia.com/gpu.product", "operator": "In", "values": products},
            ]
        }
    ]


def test_whole_gpu_versions_request_nvidia_gpu(project_render: Render) -> None:
    resources = server_resources(project_render, "llm-v1")

    assert resources["limits"]["nvidia.com/gpu"] == resources["requests"]["nvidia.com/gpu"] == "2"


def test_whole_gpu_versions_need_the_pools_nodes_and_gpu_product(project_render: Render) -> None:
    assert required_node_terms(project_render, "llm-v1") == pool_terms(
        "whole", ["NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-PCIe"]
    )


def test_gpu_versions_tolerate_the_gpu_taint(project_render: Render) -> None:
    for deployment in ("llm-v1", "detector-v1", "tagger-v1"):
        assert pod_spec(project_render, deployment)["tolerations"] == [GPU_TOLERATION]


def test_gpu_versions_select_their_pool_by_label(project_render: Render) -> None:
    assert pod_spec(project_render, "detector-v1")["nodeSelector"] == {"modelstack.io/node-pool": "mixed"}


def test_mixed_strategy_versions_request_their_mig_profile(project_render: Render) -> None:
    assert server_resources(project_render, "detector-v1")["limits"]["nvidia.com/mig-3g.20gb"] == "1"
    assert "nvidia.com/gpu" not in server_resources(project_render, "detector-v1")["limits"]


def test_mixed_strategy_writes_media_extensions_with_a_dot(project_render: Render) -> None:
    assert server_resources(project_render, "decoder-v1")["limits"]["nvidia.com/mig-1g.5gb.me"] == "1"


def test_mixed_strategy_versions_need_the_unchanged_gpu_product(project_render: Render) -> None:
    assert required_node_terms(project_render, "detector-v1") == pool_terms(
        "mixed", ["A100-SXM4-40GB", "NVIDIA-A100-SXM4-40GB", "A100-PCIE-40GB", "NVIDIA-A100-PCIE-40GB"]
    )


def test_single_strategy_versions_request_nvidia_gpu(project_render: Render) -> None:
    assert server_resources(project_render, "tagger-v1")["limits"]["nvidia.com/gpu"] == "1"


def test_single_strategy_versions_need_the_mig_suffixed_gpu_product(project_render: Render) -> None:
    assert required_node_terms(project_render, "tagger-v1") == pool_terms(
        "single",
        [
            "A100-SXM4-80GB-MIG-1g.10gb",
            "NVIDIA-A100-SXM4-80GB-MIG-1g.10gb",
            "A100-80GB-PCIe-MIG-1g.10gb",
            "NVIDIA-A100-80GB-PCIe-MIG-1g.10gb",
        ],
    )


def test_cpu_versions_need_the_pool_but_tolerate_nothing(project_render: Render) -> None:
    spec = pod_spec(project_render, "embedder-v1")

    assert required_node_terms(project_render, "embedder-v1") == [
        {"matchExpressions": [{"key": "modelstack.io/node-pool", "operator": "In", "values": ["cpu"]}]}
    ]
    assert "tolerations" not in spec
    assert not any(
        key.startswith("nvidia.com/") for key in server_resources(project_render, "embedder-v1")["limits"]
    )


def test_prod_versions_on_both_gpu_pools_get_their_pools_resource(prod_render: Render) -> None:
    assert server_resources(prod_render, "llm-chat-v1")["limits"]["nvidia.com/gpu"] == "1"
    assert server_resources(prod_render, "vision-detector-v7")["limits"]["nvidia.com/mig-3g.40gb"] == "1"
    assert pod_spec(prod_render, "vision-detector-v7")["nodeSelector"] == {
        "modelstack.io/node-pool": "gpu-h100-mig"
    }
