"""Item 7 of issue #20: cluster stacks pull only from registries their nodes reach, pods pull with the
stack's imagePullSecrets, and every `fromSecret` names a Secret (and key) the stack declares.

Upstream behaviour (docs/upstream-interfaces.md): Docker's reference grammar (distribution/reference
`splitDockerDomain`) takes the first path component as the registry when it contains '.' or ':' or is
`localhost`; a loopback address on a node is the node itself. The kubelet refuses to start a container whose
`secretKeyRef` names a missing Secret or key (`CreateContainerConfigError`, Kubernetes v1.30+ "Secrets").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from components.catalog.base import is_loopback_registry, registry_host
from components.catalog.build import resolved_base
from components.catalog.errors import CatalogError, Problem
from components.catalog.stack_config import StackConfig
from components.validation.loader import load_catalog, load_stack_config
from components.workload.model_version import deployment_manifest
from tests.foundation.catalog_project import CATALOG, STACK, line_of, make_project
from tests.upstream.facts import model, version_args

CLUSTER_STACK = STACK.replace(
    "modelstack:kubernetes: {target: render, renderDir: build/test}",
    "modelstack:kubernetes: {target: cluster, context: prod}",
)
BASE = "sha256:a14c3ee38672007bf8128c8d3e497d09b3d96d1f12654582738d4968ec75e0be"


@pytest.mark.parametrize(
    ("reference", "host"),
    [
        ("127.0.0.1:5000/modelstack/base@x", "127.0.0.1:5000"),
        ("localhost/base@x", "localhost"),
        ("localhost:5000/base@x", "localhost:5000"),
        ("registry.example.com/llm@x", "registry.example.com"),
        ("library/python@x", None),  # Docker Hub
        ("python@x", None),
    ],
)
def test_the_registry_of_a_reference_follows_dockers_grammar(reference: str, host: str | None) -> None:
    assert registry_host(reference) == host


@pytest.mark.parametrize(
    ("server", "loopback"),
    [
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("registry.localhost:5000", True),
        ("[::1]:5000", True),
        ("0.0.0.0:5000", True),
        ("registry.ml.example.com", False),
        ("10.0.0.5:5000", False),
        ("localhost.example.com", False),
    ],
)
def test_loopback_registries_are_recognised(server: str, loopback: bool) -> None:
    assert is_loopback_registry(server) is loopback


def _stack_problems(tmp: Path, stack: str) -> list[Problem]:
    make_project(tmp, stack=stack)
    with pytest.raises(CatalogError) as caught:
        load_stack_config(tmp, "test")
    return caught.value.problems


def _catalog_problems(tmp: Path, catalog: str, stack: str = STACK) -> list[Problem]:
    make_project(tmp, catalog, stack)
    config = load_stack_config(tmp, "test")
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp / "models.yaml", config)
    return caught.value.problems


def test_a_cluster_stack_refuses_a_loopback_registry(tmp_path: Path) -> None:
    stack = CLUSTER_STACK + "  modelstack:registry: {server: 127.0.0.1:5000}\n"
    [problem] = _stack_problems(tmp_path, stack)
    assert problem.file.endswith("Pulumi.test.yaml")
    assert problem.line == line_of(stack, "modelstack:registry")
    assert "loopback" in problem.message


def test_a_render_stack_keeps_its_loopback_registry(tmp_path: Path) -> None:
    make_project(tmp_path, stack=STACK + "  modelstack:registry: {server: 127.0.0.1:5000}\n")
    assert load_stack_config(tmp_path, "test").registry.server == "127.0.0.1:5000"


BUILT = """\
apiVersion: modelstack/v1
models:
  embedder:
    server: triton
    versions:
      v1:
        build: {{context: ctx, base: "{base}"}}
        weight: 100
        nodePool: cpu-a
        resources: {{cpu: "2", memory: 4Gi}}
"""
REGISTRY = "  modelstack:registry: {server: registry.ml.example.com}\n"


def _build_context(tmp: Path) -> None:
    (tmp / "ctx").mkdir()
    (tmp / "ctx" / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\nCOPY requirements.txt .\n")
    (tmp / "ctx" / "requirements.txt").write_text("numpy==2.1.0 --hash=sha256:" + "0" * 64 + "\n")


def test_a_cluster_stack_refuses_a_loopback_build_base(tmp_path: Path) -> None:
    _build_context(tmp_path)
    catalog = BUILT.format(base=f"127.0.0.1:5000/modelstack/base@{BASE}")
    [problem] = _catalog_problems(tmp_path, catalog, CLUSTER_STACK + REGISTRY)
    assert (problem.path, problem.line) == (
        "models.embedder.versions.v1.build.base",
        line_of(catalog, "build:"),
    )
    assert "loopback registry 127.0.0.1:5000" in problem.message


def test_a_render_stack_keeps_its_loopback_build_base(tmp_path: Path) -> None:
    _build_context(tmp_path)
    make_project(tmp_path, BUILT.format(base=f"127.0.0.1:5000/modelstack/base@{BASE}"))
    load_catalog(tmp_path / "models.yaml", load_stack_config(tmp_path, "test"))


def test_a_build_base_follows_each_stacks_registry(tmp_path: Path) -> None:
    _build_context(tmp_path)
    make_project(
        tmp_path, BUILT.format(base=f"{{registry}}/modelstack/base@{BASE}"), CLUSTER_STACK + REGISTRY
    )
    loaded = load_catalog(tmp_path / "models.yaml", load_stack_config(tmp_path, "test"))
    build = loaded.catalog.models["embedder"].versions["v1"].build
    assert build is not None
    assert (
        resolved_base(build, "registry.ml.example.com") == f"registry.ml.example.com/modelstack/base@{BASE}"
    )


def test_pods_pull_with_the_stacks_image_pull_secrets() -> None:
    stack = StackConfig.model_validate(
        {"namespace": "ml-test", "secrets": {"pull": [".dockerconfigjson"]}, "imagePullSecrets": ["pull"]}
    )
    pod = deployment_manifest(version_args(model("vllm"), stack), "image")["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "pull"}]


def test_an_undeclared_image_pull_secret_is_a_stack_error(tmp_path: Path) -> None:
    stack = STACK + "  modelstack:imagePullSecrets: [pull]\n"
    [problem] = _stack_problems(tmp_path, stack)
    assert "not declared in secrets" in problem.message


SECRET_ENV = "          - {name: BATCH, fromConfig: batch}\n          - name: TOKEN\n            fromSecret: {name: hf, key: token}\n"


def _with_secret_env() -> str:
    return CATALOG.replace("          - {name: BATCH, fromConfig: batch}\n", SECRET_ENV)


def test_a_secret_the_stack_does_not_declare_is_located(tmp_path: Path) -> None:
    catalog = _with_secret_env()
    [problem] = _catalog_problems(tmp_path, catalog)
    assert problem.path == "models.llm.versions.v1.env[1].fromSecret.name"
    assert problem.line == line_of(catalog, "fromSecret: {name: hf")
    assert "not declared" in problem.message


def test_a_key_the_declared_secret_lacks_is_located(tmp_path: Path) -> None:
    catalog = _with_secret_env()
    stack = STACK + "  modelstack:secrets: {hf: [api-key]}\n"
    [problem] = _catalog_problems(tmp_path, catalog, stack)
    assert problem.path == "models.llm.versions.v1.env[1].fromSecret.key"
    assert "no key 'token'" in problem.message


def test_a_declared_secret_and_key_pass(tmp_path: Path) -> None:
    make_project(tmp_path, _with_secret_env(), STACK + "  modelstack:secrets: {hf: [token]}\n")
    load_catalog(tmp_path / "models.yaml", load_stack_config(tmp_path, "test"))


def test_every_pod_template_of_the_prod_stack_pulls_with_its_image_pull_secrets(prod_render) -> None:
    """Model Deployments and smoke-test Jobs alike: any pod whose image sits in the private registry."""
    templates = {
        f"{m.kind}/{m.name}": m.body["spec"]["template"]["spec"]
        for m in prod_render.manifests
        if m.kind in ("Deployment", "Job")
    }
    assert {key.split("/")[0] for key in templates} == {"Deployment", "Job"}
    missing = [
        key for key, pod in templates.items() if pod.get("imagePullSecrets") != [{"name": "registry-ml-pull"}]
    ]
    assert missing == []
