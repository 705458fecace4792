"""Issue 14, item 8: credentials never sit in plain text unnoticed — a located warning (an error on a
stack that deploys to a cluster) — Secrets can be mounted as files, and each model's pods may only
reach the egress peers the stack declares."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelstack.engine.render import run_program

from .conftest import ROOT, run_validator_on

HF_TOKEN = "hf_" + "A1b2C3d4E5" * 4
ENV = "          - {name: MODEL_NAME, fromConfig: model_name}\n"


def _catalog(project: Path, old: str, new: str) -> None:
    path = project / "models.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("where", "old", "new"),
    [
        ("env value", ENV, ENV + f"          - {{name: HF_TOKEN, value: {HF_TOKEN}}}\n"),
        ("env by name", ENV, ENV + "          - {name: DB_PASSWORD, value: correct-horse}\n"),
        (
            "config",
            "          model_name: text-embedder\n",
            "          model_name: text-embedder\n          apiKey: abc123\n",
        ),
        (
            "args",
            "        loadTimeoutSeconds: 60\n",
            f"        loadTimeoutSeconds: 60\n        args: [--hf-token, {HF_TOKEN}]\n",
        ),
    ],
)
def test_a_plain_text_credential_warns_on_dev_and_fails_on_a_cluster_stack(
    project: Path, run, where: str, old: str, new: str
) -> None:
    _catalog(project, old, new)
    dev = run("validate", "--stack", "dev")
    assert dev.code == 0, dev.stderr
    assert "warning:" in dev.stderr and "looks like a credential" in dev.stderr, where
    prod = run("validate", "--stack", "prod")
    assert prod.located and "looks like a credential" in prod.stderr, where
    for output in (dev.stderr, prod.stderr):
        assert HF_TOKEN not in output and "correct-horse" not in output and "abc123" not in output


@pytest.mark.parametrize(
    "name", ["HF_TOKEN", "db-password", "apiKey", "AWS_SECRET_ACCESS_KEY", "client_secret"]
)
def test_credential_names(name: str) -> None:
    from components.validation.rules.secrets import names_a_credential

    assert names_a_credential(name)


@pytest.mark.parametrize("name", ["MAX_TOKENS", "TOKEN_FILE", "tokenizer", "PASSWORD_PATH", "keyspace"])
def test_names_that_are_not_credentials(name: str) -> None:
    from components.validation.rules.secrets import names_a_credential

    assert not names_a_credential(name)


def test_a_reference_to_where_a_credential_is_is_not_one() -> None:
    from components.validation.rules.secrets import credential_reason

    assert credential_reason("HF_TOKEN", "/var/run/secrets/hf/token") is None
    assert credential_reason("URL", "https://user:pw@host/x") is not None


SECRET_FILES = (
    "        secretFiles:\n"
    "          - {path: /var/run/secrets/hf/token, fromSecret: {name: huggingface, key: token}}\n"
    "          - {path: /var/run/secrets/hf/user, fromSecret: {name: huggingface, key: user}}\n"
)


def _declare_user_key(project: Path) -> None:
    for stack in ("Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        path = project / stack
        path.write_text(
            path.read_text().replace("    huggingface: [token]", "    huggingface: [token, user]")
        )


def test_secret_files_are_mounted_read_only_from_one_secret_volume(project: Path) -> None:
    _declare_user_key(project)
    _catalog(project, "        loadTimeoutSeconds: 60\n", "        loadTimeoutSeconds: 60\n" + SECRET_FILES)
    render = run_program(project, "dev")
    deployment = next(
        m.body for m in render.manifests if m.kind == "Deployment" and m.name == "text-embedder-v1"
    )
    pod = deployment["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if "secret" in v)
    assert volume["secret"] == {
        "secretName": "huggingface",
        "items": [{"key": "token", "path": "token"}, {"key": "user", "path": "user"}],
        "defaultMode": 0o440,
    }
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
    assert mount == {"name": volume["name"], "mountPath": "/var/run/secrets/hf", "readOnly": True}


def test_secret_files_of_two_secrets_in_one_directory_are_refused(project: Path, run) -> None:
    _declare_user_key(project)
    files = SECRET_FILES.replace("{name: huggingface, key: user}", "{name: other, key: user}")
    _catalog(project, "        loadTimeoutSeconds: 60\n", "        loadTimeoutSeconds: 60\n" + files)
    result = run("validate", "--stack", "dev")
    assert result.located and "a directory is one Secret volume" in result.stderr


def test_secret_files_over_the_weights_mount_are_refused(project: Path, run) -> None:
    files = "        secretFiles: [{path: /models/token, fromSecret: {name: huggingface, key: token}}]\n"
    _catalog(project, "        loadTimeoutSeconds: 60\n", "        loadTimeoutSeconds: 60\n" + files)
    result = run("validate", "--stack", "dev")
    assert result.located and "overlaps the mount at /models" in result.stderr


def test_every_model_gets_a_default_deny_egress_policy_with_the_declared_peers(project: Path) -> None:
    stack = project / "Pulumi.dev.yaml"
    stack.write_text(
        stack.read_text()
        + "  modelstack:egress:\n    weightsStore: [{cidr: 10.20.0.0/16, ports: [{port: 443}]}]\n"
    )
    render = run_program(project, "dev")
    policies = {m.name: m.body for m in render.manifests if m.kind == "NetworkPolicy"}
    models = {m.name for m in render.manifests if m.kind == "VirtualService"}
    assert set(policies) == {f"{model.removesuffix('-virtual-service')}-egress" for model in models}
    spec = policies["llm-chat-egress"]["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app": "llm-chat"}}
    assert spec["policyTypes"] == ["Egress"]
    peers = [rule["to"][0] for rule in spec["egress"]]
    assert peers == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        },
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}},
            "podSelector": {"matchLabels": {"app": "istiod"}},
        },
        {"ipBlock": {"cidr": "10.20.0.0/16"}},
    ]
    assert spec["egress"][2]["ports"] == [{"port": 443, "protocol": "TCP"}]


def test_rendered_egress_policies_and_secret_volumes_pass_the_upstream_schemas(
    project: Path, tmp_path: Path
) -> None:
    _declare_user_key(project)
    _catalog(project, "        loadTimeoutSeconds: 60\n", "        loadTimeoutSeconds: 60\n" + SECRET_FILES)
    result = run_validator_on(run_program(project, "dev"), tmp_path / "out")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_the_repository_stacks_render_no_credential_warning() -> None:
    from components.validation.loader import load_catalog, load_stack_config

    for stack in ("dev", "prod"):
        config = load_stack_config(ROOT, stack)
        warnings = load_catalog(ROOT / config.catalog, config).warnings
        assert not [w for w in warnings if "credential" in w.message]
