"""Model weights: read-only from a PVC or an OCI image volume, their path exported to the server."""

from __future__ import annotations

from typing import Any

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


def test_pvc_weights_are_claimed_and_mounted_read_only(prod_render: Render) -> None:
    volume = weights_volume(prod_render, "llm-chat-v1")
    assert volume["persistentVolumeClaim"] == {"claimName": "llm-chat-8b-v1", "readOnly": True}
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
            "pvc": "w",
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
