"""What the contract says about each model, built from small catalogs (pure, no Pulumi runtime)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from components.catalog.catalog import Catalog
from components.catalog.stack_config import StackConfig
from components.contract.build import build_contract
from components.contract.schema import SCHEMA_VERSION

DIGEST = "sha256:" + "ab" * 32
IMAGE = f"registry.example.com/m/server@{DIGEST}"

STACK = StackConfig.model_validate(
    {
        "namespace": "ml-test",
        "istio": {"domain": "models.test.internal"},
        "nodePools": [
            {"name": "gpu", "gpu": "H100-80GB", "gpusPerNode": 8},
            {
                "name": "mig",
                "gpu": "H100-80GB",
                "gpusPerNode": 1,
                "migStrategy": "mixed",
                "migLayout": {"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 2},
            },
            {"name": "cpu"},
        ],
    }
)


def catalog(**model: Any) -> Catalog:
    base: dict[str, Any] = {
        "server": "vllm",
        "versions": {
            "v1": {"image": IMAGE, "weight": 100, "nodePool": "cpu", "resources": {"cpu": 1, "memory": "1Gi"}}
        },
    }
    return Catalog.model_validate({"apiVersion": "modelstack/v1", "models": {"m": {**base, **model}}})


def contract_of(cat: Catalog, images: dict[str, dict[str, str]] | None = None):
    refs = images or {name: dict.fromkeys(model.versions, IMAGE) for name, model in cat.models.items()}
    return build_contract(cat, STACK, "test", refs)


def test_contract_starts_at_schema_version_1() -> None:
    assert contract_of(catalog()).schema_version == SCHEMA_VERSION == 1


def test_mesh_endpoint_is_the_models_service_in_the_stack_namespace() -> None:
    mesh = contract_of(catalog()).models["m"].mesh
    assert (mesh.host, mesh.port, mesh.url) == (
        "m.ml-test.svc.cluster.local",
        8000,
        "http://m.ml-test.svc.cluster.local:8000",
    )


def test_unexposed_model_has_no_external_url() -> None:
    assert contract_of(catalog()).models["m"].external is None


def test_exposed_model_defaults_to_model_dot_domain_over_https() -> None:
    external = contract_of(catalog(expose={})).models["m"].external
    assert external is not None
    assert (external.host, external.url) == ("m.models.test.internal", "https://m.models.test.internal")


def test_exposed_model_keeps_its_explicit_host() -> None:
    external = contract_of(catalog(expose={"host": "chat.example.com"})).models["m"].external
    assert external is not None
    assert external.url == "https://chat.example.com"


@pytest.mark.parametrize(
    ("server", "port", "queue"),
    [
        ("vllm", 8000, "vllm:num_requests_waiting"),
        ("tgi", 8080, "tgi_queue_size"),
        ("triton", 8000, "nv_inference_pending_request_count"),
    ],
)
def test_api_flavour_port_and_queue_metric_follow_the_server_preset(
    server: str, port: int, queue: str
) -> None:
    model = contract_of(catalog(server=server)).models["m"]
    assert (model.api.value, model.mesh.port, model.metrics.queue_metric) == (server, port, queue)
    assert queue in model.metrics.exposed


def test_version_digest_is_the_digest_of_its_image() -> None:
    version = contract_of(catalog()).models["m"].versions["v1"]
    assert (version.image, version.digest) == (IMAGE, DIGEST)


def test_version_image_comes_from_the_given_references_not_the_catalog() -> None:
    # A built version has no catalog image: its reference is what the image build pushed.
    built = f"registry.example.com/built@sha256:{'cd' * 32}"
    version = contract_of(catalog(), {"m": {"v1": built}}).models["m"].versions["v1"]
    assert version.image == built


def test_version_without_a_digest_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"versions\.v1\.image"):
        contract_of(catalog(), {"m": {"v1": "registry.example.com/m:1.0"}})


def test_whole_gpu_version_requests_nvidia_gpu_on_its_pool() -> None:
    cat = catalog(
        versions={
            "v1": {
                "image": IMAGE,
                "weight": 100,
                "nodePool": "gpu",
                "resources": {"cpu": 4, "memory": "8Gi", "gpu": 2},
            }
        }
    )
    version = contract_of(cat).models["m"].versions["v1"]
    assert version.node_pool == "gpu"
    assert version.gpu is not None
    assert (version.gpu.count, version.gpu.mig_profile, version.gpu.resource) == (2, None, "nvidia.com/gpu")


def test_mig_version_on_a_mixed_pool_requests_the_profiles_resource() -> None:
    cat = catalog(
        versions={
            "v1": {
                "image": IMAGE,
                "weight": 100,
                "nodePool": "mig",
                "resources": {"cpu": 4, "memory": "8Gi", "gpu": 1, "migProfile": "3g.40gb"},
            }
        }
    )
    gpu = contract_of(cat).models["m"].versions["v1"].gpu
    assert gpu is not None
    assert (gpu.mig_profile, gpu.resource) == ("3g.40gb", "nvidia.com/mig-3g.40gb")


def test_cpu_version_has_no_gpu() -> None:
    assert contract_of(catalog()).models["m"].versions["v1"].gpu is None


@given(low=st.integers(1, 20), extra=st.integers(0, 20), autoscaling=st.booleans())
def test_replica_range_is_autoscaled_only_with_an_autoscaler_and_room_to_scale(
    low: int, extra: int, autoscaling: bool
) -> None:
    cat = catalog(
        autoscaling={"target": 4} if autoscaling else None,
        versions={
            "v1": {
                "image": IMAGE,
                "weight": 100,
                "nodePool": "cpu",
                "resources": {"cpu": 1, "memory": "1Gi"},
                "replicas": {"min": low, "max": low + extra},
            }
        },
    )
    replicas = contract_of(cat).models["m"].versions["v1"].replicas
    assert (replicas.min, replicas.max) == (low, low + extra)
    assert replicas.autoscaled == (autoscaling and extra > 0)


def test_autoscaling_metric_defaults_to_the_queue_metric() -> None:
    scaling = contract_of(catalog(autoscaling={"target": 4})).models["m"].autoscaling
    assert scaling is not None
    assert (scaling.metric, scaling.type, scaling.target) == ("vllm:num_requests_waiting", "Pods", 4)


def test_weights_are_exported_per_version() -> None:
    cat = catalog(
        versions={
            "v1": {"image": IMAGE, "weight": 90, "nodePool": "cpu", "resources": {"cpu": 1, "memory": "1Gi"}},
            "v2": {"image": IMAGE, "weight": 10, "nodePool": "cpu", "resources": {"cpu": 1, "memory": "1Gi"}},
        }
    )
    versions = contract_of(cat).models["m"].versions
    assert {name: v.weight for name, v in versions.items()} == {"v1": 90, "v2": 10}


def test_capacity_plan_covers_every_node_pool_of_the_stack() -> None:
    capacity = contract_of(catalog()).capacity
    assert capacity is not None
    assert [p.pool for p in capacity.pools] == ["gpu", "mig", "cpu"]


def test_capacity_plan_counts_a_versions_gpus_at_min_and_max_replicas() -> None:
    cat = catalog(
        versions={
            "v1": {
                "image": IMAGE,
                "weight": 100,
                "nodePool": "gpu",
                "resources": {"cpu": 4, "memory": "8Gi", "gpu": 2},
                "replicas": {"min": 1, "max": 3},
            }
        }
    )
    capacity = contract_of(cat).capacity
    assert capacity is not None
    gpus = next(
        r for p in capacity.pools if p.pool == "gpu" for r in p.resources if r.resource == "nvidia.com/gpu"
    )
    assert (gpus.demand.min, gpus.demand.max) == (2, 6)
    assert [(c.model, c.version, c.per_replica) for c in gpus.versions] == [("m", "v1", 2)]
