"""Fixtures of the cluster tests: a real control plane on loopback with KWOK nodes, and the real engine.

Every test here but `test_fleet_model.py` (no cluster, fast suite) is marked `integration` and runs in
the xdist group `cluster`: one worker starts one cluster for the session and the stacks deployed into it take turns (cluster-scoped objects such as
Karpenter NodePools share names across stacks).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.cluster import ClusterError, ClusterToolchain, LocalCluster, build_cluster_toolchain
from tests.engine.engine import EngineError, Pulumi, Toolchain, build_toolchain

# Namespaces the platform provides before any stack arrives (the stack writes into them, never owns them).
PLATFORM_NAMESPACES = ("istio-ingress", "monitoring", "gpu-operator")
OFFLINE_MODULES = {"test_fleet_model.py"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cluster: runs a real kube-apiserver, scheduler and controllers")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        path = Path(str(item.fspath))
        if here in path.parents and path.name not in OFFLINE_MODULES:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.cluster)
            item.add_marker(pytest.mark.xdist_group("cluster"))


def _can_build() -> bool:
    return shutil.which("go") is not None or os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def cluster_toolchain() -> ClusterToolchain:
    if not _can_build() and not os.environ.get("MODELSTACK_KUBE_BIN_DIR"):
        pytest.skip("no Go to build the control plane with, and no MODELSTACK_KUBE_BIN_DIR")
    try:
        return build_cluster_toolchain()
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def cluster(
    cluster_toolchain: ClusterToolchain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalCluster]:
    """A started cluster with the upstream CRDs and the platform namespaces; stopped whatever happens."""
    local = LocalCluster(cluster_toolchain, tmp_path_factory.mktemp("cluster"))
    try:
        local.start()
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        local.install_crds()
        local.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in PLATFORM_NAMESPACES
        )
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def engine_toolchain() -> Toolchain:
    if shutil.which("go") is None and shutil.which("pulumi") is None and os.environ.get("CI") != "true":
        pytest.skip("neither Go (to build the engine) nor a pulumi CLI is available")
    try:
        return build_toolchain()
    except EngineError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def cluster_engine(
    engine_toolchain: Toolchain, cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Pulumi:
    """The real Pulumi CLI, network-free, whose Kubernetes provider reads the cluster's kubeconfig."""
    base = tmp_path_factory.mktemp("pulumi-cluster")
    pulumi = Pulumi(
        engine_toolchain,
        home=base / "home",
        backend=base / "state",
        extra_env={"KUBECONFIG": str(cluster.kubeconfig), "NO_PROXY": "127.0.0.1,localhost"},
    )
    pulumi.install_provider()
    return pulumi
