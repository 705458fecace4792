"""Model weights: read-only from a volume the stack claims or an OCI image volume, their path exported."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from components.catalog.workload import ModelWeights
from modelstack.engine.render import Render

from .conftest import of_kind, pod_spec, server_container, version_of


def weights_volume(render: Render, deployment: str) -> dict[str, Any]:
    return next(
        v
        for v in pod_spec(of_kind(render, "Deployment")[deployment])["volumes"]
        if v["name"] == "model-weights"
    )


def weights_mount(render: Render, deployment: str) -> dict[str, Any]:
    mounts = server_container(of_kind(render, "Deployment")[deployment])["volumeMounts"]
    return next(m for m in mounts if m["name"] == "model-weights")


def test_volume_weights_are_claimed_and_mounted_read_only(prod_render: Render) -> None:
    volume = weights_volume(prod_render, "llm-chat-v1")
    assert volume["persistentVolumeClaim"] == {"claimName": "llm-chat-v1-weights", "readOnly": True}
    assert weights_mount(prod_render, "llm-chat-v1") == {
        "name": "model-weights",
        "mountPath": "/models",
        "readOnly": True,
    }


def test_image_weights_are_an_image_volume_pulled_if_not_present(prod_render: Render) -> None:
    volume = weights_volume(prod_render, "vision-detector-v7")["image"]
    assert volume["reference"].startswith("registry.ml.example.com/vision/detector-weights@sha256:")
    assert volume["pullPolicy"] == "IfNotPresent"
    assert weights_mount(prod_render, "vision-detector-v7")["readOnly"] is True


def test_the_weights_path_is_exported_as_model_weights_path(render_edited: Any) -> None:
    def elsewhere(catalog: dict[str, Any]) -> None:
        version_of(catalog, "llm-chat", "v2")["modelWeights"] = {
            "volume": {"nfs": {"server": "10.0.0.5", "path": "/exports/w"}},
            "mountPath": "/weights",
            "subPath": "8b",
        }

    render = render_edited(elsewhere)
    env = {
        e["name"]: e.get("value")
        for e in server_container(of_kind(render, "Deployment")["llm-chat-v2"])["env"]
    }
    assert env["MODEL_WEIGHTS_PATH"] == "/weights"
    assert weights_mount(render, "llm-chat-v2")["subPath"] == "8b"


def test_fs_group_makes_the_weights_readable_by_the_non_root_server(prod_render: Render) -> None:
    context = pod_spec(of_kind(prod_render, "Deployment")["llm-chat-v1"])["securityContext"]
    assert context["fsGroup"] == 10001
    assert context["fsGroupChangePolicy"] == "OnRootMismatch"


def test_a_version_without_weights_has_no_weights_volume(render_edited: Any) -> None:
    def without_weights(catalog: dict[str, Any]) -> None:
        del version_of(catalog, "text-embedder", "v1")["modelWeights"]

    deployment = of_kind(render_edited(without_weights), "Deployment")["text-embedder-v1"]
    assert all(v["name"] != "model-weights" for v in pod_spec(deployment)["volumes"])
    assert "MODEL_WEIGHTS_PATH" not in {e["name"] for e in server_container(deployment)["env"]}


def test_the_stack_declares_the_claim_its_pods_mount(prod_render: Render) -> None:
    """The namespace is the stack's: a claim made by anyone else could not exist before the first up."""
    claim = of_kind(prod_render, "PersistentVolumeClaim")["llm-chat-v1-weights"]
    assert claim["spec"] == {
        "accessModes": ["ReadOnlyMany"],
        "storageClassName": "",
        "volumeName": "ml-serving-llm-chat-v1-weights",
        "resources": {"requests": {"storage": "20Gi"}},
    }


def test_the_claim_is_pre_bound_to_a_read_only_volume_that_keeps_the_weights(prod_render: Render) -> None:
    volume = of_kind(prod_render, "PersistentVolume")["ml-serving-llm-chat-v1-weights"]["spec"]
    assert volume["claimRef"] == {"namespace": "ml-serving", "name": "llm-chat-v1-weights"}
    assert volume["persistentVolumeReclaimPolicy"] == "Retain"
    assert "storageClassName" not in volume, "a volume of no class is bound only by a claim of class ''"
    assert volume["csi"] == {
        "driver": "s3.csi.aws.com",
        "volumeHandle": "llm-chat-8b-v1",
        "readOnly": True,
        "volumeAttributes": {"bucketName": "ml-weights-prod"},
    }


def test_an_nfs_export_is_mounted_read_only(render_edited: Any) -> None:
    def on_nfs(catalog: dict[str, Any]) -> None:
        version_of(catalog, "llm-chat", "v2")["modelWeights"] = {
            "volume": {"nfs": {"server": "nfs.example.com", "path": "/exports/llm"}},
        }

    volumes = of_kind(render_edited(on_nfs), "PersistentVolume")
    volume = next(body["spec"] for name, body in volumes.items() if name.endswith("-llm-chat-v2-weights"))
    assert volume["nfs"] == {"server": "nfs.example.com", "path": "/exports/llm", "readOnly": True}
    assert volume["capacity"] == {"storage": "1Gi"}


def test_a_version_with_image_weights_declares_no_claim(prod_render: Render) -> None:
    claims = of_kind(prod_render, "PersistentVolumeClaim")
    assert "vision-detector-v7-weights" not in claims
    assert sorted(claims) == ["llm-chat-v1-weights", "llm-chat-v2-weights", "text-embedder-v1-weights"]


def test_a_pre_existing_claim_is_refused_with_the_way_to_name_the_storage() -> None:
    with pytest.raises(ValidationError, match=r"stack creates the namespace.*modelWeights\.volume\.csi"):
        ModelWeights.model_validate({"pvc": "llm-chat-8b-v1"})


@pytest.mark.parametrize(
    "volume",
    [{}, {"csi": {"driver": "d.example.com", "volumeHandle": "h"}, "nfs": {"server": "n", "path": "/e"}}],
)
def test_a_weights_volume_names_exactly_one_source(volume: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="exactly one of csi or nfs"):
        ModelWeights.model_validate({"volume": volume})


def test_an_nfs_path_must_be_absolute() -> None:
    with pytest.raises(ValidationError, match="not an absolute export path"):
        ModelWeights.model_validate({"volume": {"nfs": {"server": "nfs.example.com", "path": "exports"}}})
