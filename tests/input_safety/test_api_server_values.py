"""Issue 14, item 7: values the Kubernetes API server would reject are catalog or stack errors, located,
before anything is rendered (Kubernetes' own formats: IsConfigMapKey, validateLocalDescendingPath,
IsQualifiedName, IsValidLabelValue)."""

from __future__ import annotations

from pathlib import Path

import pytest

POOL = "    - name: cpu-general\n"


def _catalog(project: Path, old: str, new: str) -> None:
    path = project / "models.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _stack(project: Path, old: str, new: str) -> None:
    path = project / "Pulumi.dev.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("key", [".", "..", "..data", "..2024_01_01"])
def test_a_config_map_key_the_kubelet_reserves_is_refused(project: Path, run, key: str) -> None:
    _catalog(project, "          model_name: text-embedder", f"          '{key}': text-embedder")
    result = run("validate", "--stack", "dev")
    assert result.located and "not a valid ConfigMap key" in result.stderr


@pytest.mark.parametrize("sub_path", ["../other-model", "a/../../b", "/abs", ".."])
def test_a_weights_sub_path_that_leaves_the_volume_is_refused(project: Path, run, sub_path: str) -> None:
    _catalog(
        project,
        "mountPath: /models}",
        f"mountPath: /models, subPath: '{sub_path}'}}",
    )
    result = run("validate", "--stack", "dev")
    assert result.located and "not a sub-path of the volume" in result.stderr


@pytest.mark.parametrize(
    "pool_fields",
    [
        "      labels: {'bad key!': x}\n",
        "      labels: {team: 'not a value'}\n",
        "      labels: {team: " + "v" * 64 + "}\n",
        "      taints: [{key: 'Bad_Prefix/x', value: y}]\n",
        "      taints: [{key: dedicated, value: 'has space'}]\n",
        "      zones: ['us east 1a']\n",
    ],
)
def test_node_pool_labels_and_taints_are_kubernetes_labels(project: Path, run, pool_fields: str) -> None:
    _stack(project, POOL, POOL + pool_fields)
    result = run("validate", "--stack", "dev")
    assert result.located, result.stderr


def test_monitoring_labels_are_kubernetes_labels(project: Path, run) -> None:
    stack = project / "Pulumi.dev.yaml"
    stack.write_text(
        stack.read_text() + "  modelstack:monitoring:\n    serviceMonitorLabels: {release: 'a b'}\n"
    )
    result = run("validate", "--stack", "dev")
    assert result.located and "modelstack:monitoring.serviceMonitorLabels" in result.stderr


@pytest.mark.parametrize("account", ["istio-ingressgateway", "a/b/c", "Istio/x", "ns/"])
def test_the_gateway_service_account_is_namespace_slash_name(project: Path, run, account: str) -> None:
    _stack(
        project,
        "gatewayServiceAccount: istio-ingress/istio-ingressgateway",
        f"gatewayServiceAccount: '{account}'",
    )
    result = run("validate", "--stack", "dev")
    assert result.located and "gatewayServiceAccount" in result.stderr
