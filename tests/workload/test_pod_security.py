"""Every pod passes the restricted Pod Security Standard and runs as the model's own identity."""

from __future__ import annotations

from typing import Any

from modelstack.engine.render import Render

from .conftest import of_kind, pod_spec, server_container, version_deployments


def test_pods_run_as_the_catalogs_non_root_identity(prod_render: Render) -> None:
    for name, deployment in version_deployments(prod_render).items():
        context = pod_spec(deployment)["securityContext"]
        assert context["runAsNonRoot"] is True, name
        assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (10001, 10001, 10001)
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name


def test_the_identity_comes_from_the_models_security_field(render_edited: Any) -> None:
    def security(catalog: dict[str, Any]) -> None:
        catalog["models"]["llm-chat"]["security"] = {"runAsUser": 2000, "runAsGroup": 3000, "fsGroup": 4000}

    context = pod_spec(of_kind(render_edited(security), "Deployment")["llm-chat-v2"])["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"], context["fsGroup"]) == (2000, 3000, 4000)


def test_containers_cannot_escalate_and_drop_every_capability(prod_render: Render) -> None:
    for name, deployment in version_deployments(prod_render).items():
        for container in pod_spec(deployment)["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert context["readOnlyRootFilesystem"] is True, name


def test_the_presets_writable_paths_are_empty_dirs(prod_render: Render) -> None:
    deployment = of_kind(prod_render, "Deployment")["llm-chat-v1"]
    volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in server_container(deployment)["volumeMounts"]}
    for path in ("/tmp", "/home/model/.cache"):  # vLLM's scratch and caches
        assert volumes[mounts[path]]["emptyDir"] == {}, path


def test_pods_use_the_models_service_account_without_a_token(prod_render: Render) -> None:
    for name, deployment in version_deployments(prod_render).items():
        spec = pod_spec(deployment)
        assert spec["serviceAccountName"] == deployment["metadata"]["labels"]["app"], name
        assert spec["automountServiceAccountToken"] is False, name


def test_each_model_has_exactly_one_service_account_named_after_it(prod_render: Render) -> None:
    accounts = of_kind(prod_render, "ServiceAccount")
    assert {"llm-chat", "vision-detector", "text-embedder"} <= set(accounts)
    assert sum(1 for m in prod_render.manifests if m.kind == "ServiceAccount" and m.name == "llm-chat") == 1
    assert accounts["llm-chat"]["automountServiceAccountToken"] is False
