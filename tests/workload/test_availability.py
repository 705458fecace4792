"""Availability: a PDB per version that never blocks a drain forever, spreading, a per-version Service."""

from __future__ import annotations

from modelstack.engine.render import Render

from .conftest import of_kind, pod_spec, version_deployments


def test_every_version_has_a_pdb_allowing_one_disruption(prod_render: Render) -> None:
    budgets = of_kind(prod_render, "PodDisruptionBudget")
    for name, deployment in version_deployments(prod_render).items():
        spec = budgets[name]["spec"]
        assert spec["maxUnavailable"] == 1 and "minAvailable" not in spec, name
        assert spec["selector"] == deployment["spec"]["selector"], name


def test_pods_that_never_became_ready_do_not_block_drains(prod_render: Render) -> None:
    for name, budget in of_kind(prod_render, "PodDisruptionBudget").items():
        assert budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow", name


def test_pods_spread_across_nodes_and_the_pools_zones(prod_render: Render) -> None:
    spec = pod_spec(of_kind(prod_render, "Deployment")["llm-chat-v1"])
    keys = [c["topologyKey"] for c in spec["topologySpreadConstraints"]]
    assert keys == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    for constraint in spec["topologySpreadConstraints"]:
        assert constraint["labelSelector"] == {"matchLabels": {"app": "llm-chat", "version": "v1"}}


def test_pods_spread_across_nodes_only_when_the_pool_has_no_zones(dev_render: Render) -> None:
    spec = pod_spec(of_kind(dev_render, "Deployment")["llm-chat-v1"])
    assert [c["topologyKey"] for c in spec["topologySpreadConstraints"]] == ["kubernetes.io/hostname"]


def test_each_version_keeps_its_own_service_on_named_ports(prod_render: Render) -> None:
    service = of_kind(prod_render, "Service")["vision-detector-v7"]["spec"]
    assert service["selector"] == {"app": "vision-detector", "version": "v7"}
    assert [(p["name"], p["port"], p["targetPort"]) for p in service["ports"]] == [
        ("http", 8000, "http"),
        ("metrics", 8002, "metrics"),
    ]
