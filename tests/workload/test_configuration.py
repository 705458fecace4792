"""A version's configuration: a hashed immutable ConfigMap, references instead of values, files read-only."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from components.catalog.version import VersionSpec
from components.workload.config import config_map_name
from modelstack.engine.render import Render

from .conftest import of_kind, pod_spec, server_container, version_of

NAME = st.from_regex(r"[a-z]([-a-z0-9]{0,18}[a-z0-9])?", fullmatch=True)


def env_of(render: Render, deployment: str) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in server_container(of_kind(render, "Deployment")[deployment])["env"]}


def test_config_goes_into_an_immutable_config_map_named_by_its_content(prod_render: Render) -> None:
    maps = {
        n: b
        for n, b in of_kind(prod_render, "ConfigMap").items()
        if re.fullmatch(r"llm-chat-v1-[0-9a-f]{10}", n)
    }
    assert len(maps) == 1
    ((name, body),) = maps.items()
    assert body["immutable"] is True
    assert body["data"] == {"max_num_seqs": "64"}
    assert len(name.removeprefix("llm-chat-v1-")) == 10


def test_a_config_change_is_a_new_config_map_name(render_edited: Any, prod_render: Render) -> None:
    before = {n for n in of_kind(prod_render, "ConfigMap") if n.startswith("llm-chat-v1-")}

    def more_seqs(catalog: dict[str, Any]) -> None:
        version_of(catalog, "llm-chat", "v1")["config"]["max_num_seqs"] = "128"

    after = {n for n in of_kind(render_edited(more_seqs), "ConfigMap") if n.startswith("llm-chat-v1-")}
    assert len(after) == 1 and after != before


@given(model=NAME.filter(lambda n: len(n) <= 30), version=NAME)
def test_config_map_names_fit_a_dns_label(model: str, version: str) -> None:
    spec = VersionSpec.model_validate(
        {
            "image": "r/x@sha256:" + "0" * 64,
            "weight": 100,
            "resources": {"cpu": 1, "memory": "1Gi"},
            "config": {"k": "v"},
        }
    )
    assert len(config_map_name(model, version, spec)) <= 63


def test_from_config_reads_the_hashed_config_map(prod_render: Render) -> None:
    ref = env_of(prod_render, "llm-chat-v1")["VLLM_MAX_NUM_SEQS"]["valueFrom"]["configMapKeyRef"]
    assert ref["key"] == "max_num_seqs"
    assert ref["name"] in of_kind(prod_render, "ConfigMap")


def test_secrets_are_referenced_never_inlined(prod_render: Render) -> None:
    token = env_of(prod_render, "llm-chat-v1")["HF_TOKEN"]
    assert token == {
        "name": "HF_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "huggingface", "key": "token"}},
    }
    assert not any(m.kind == "Secret" for m in prod_render.manifests)


def test_config_files_are_mounted_read_only_at_etc_modelstack_config(render_edited: Any) -> None:
    def with_files(catalog: dict[str, Any]) -> None:
        version_of(catalog, "llm-chat", "v2")["configFiles"] = {"chat-template.jinja": "{{ messages }}"}

    render = render_edited(with_files)
    deployment = of_kind(render, "Deployment")["llm-chat-v2"]
    mount = next(m for m in server_container(deployment)["volumeMounts"] if m["name"] == "config")
    assert mount == {"name": "config", "mountPath": "/etc/modelstack/config", "readOnly": True}
    volume = next(v for v in pod_spec(deployment)["volumes"] if v["name"] == "config")["configMap"]
    assert volume["items"] == [{"key": "chat-template.jinja", "path": "chat-template.jinja"}]
    assert of_kind(render, "ConfigMap")[volume["name"]]["data"]["chat-template.jinja"] == "{{ messages }}"


def test_a_version_without_configuration_has_no_config_map(prod_render: Render) -> None:
    assert not any(
        re.fullmatch(r"vision-detector-v7-[0-9a-f]{10}", n) for n in of_kind(prod_render, "ConfigMap")
    )
    deployment = of_kind(prod_render, "Deployment")["vision-detector-v7"]
    assert all("configMap" not in v for v in pod_spec(deployment)["volumes"])
