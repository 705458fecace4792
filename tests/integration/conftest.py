"""Docker fixtures for integration tests: a Docker engine, the local registry and the base image, all
prepared by scripts/setup-docker.sh (idempotent; seconds when warm, about a minute cold); and the example
model server's image, with what the platform expects of it, shared by the test_image_*.py modules.

The image fixtures are session-scoped: pytest-xdist (--dist loadscope) gives each module to one worker, so
a module-scoped render and ``docker build`` would run once per module. Each worker that runs an image
module renders and builds once instead; the build and push take a machine-wide lock (tests/locks.py), so
no two workers push the ``:e2e`` tag at the same time, and a later worker's build comes from the first
one's layer cache and pushes the same digest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.integration.containers import (
    IMAGE_LOCK,
    SERVER_DIR,
    SETUP_DOCKER,
    Container,
    PushedImage,
    build,
    copy_context,
    docker,
    run_container,
    wait_until,
)
from tests.integration.rendered_contract import RenderedContract, derive_contract, load_render
from tests.locks import one_at_a_time

ROOT = Path(__file__).resolve().parents[2]
EXIT_DOCKER_UNAVAILABLE = 77  # the script's "Docker cannot run here" code; its reason is on stderr
SETUP_TIMEOUT_S = 1800  # cold: apt-get install and a debootstrap
FETCH_WHEELHOUSE = ROOT / "scripts" / "fetch-wheelhouse.sh"
MODELSTACK = Path(sys.executable).with_name("modelstack")
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.dev.yaml", "models.yaml")
MODEL = "text-embedder"
DEPLOYMENT = "text-embedder-v1"
RENDER_TIMEOUT_S = 300


@dataclass(frozen=True)
class DockerEnv:
    registry: str
    """host:port of the local registry images are pushed to."""
    base_image: str
    """Digest reference of the base image, ``<registry>/modelstack/base@sha256:…``."""


def _skip_reason(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("SKIP:")]
    return lines[-1].removeprefix("SKIP:").strip() if lines else "Docker cannot run here"


@pytest.fixture(scope="session")
def docker_env() -> DockerEnv:
    """Runs scripts/setup-docker.sh; skips only when it reports that Docker cannot run here."""
    with one_at_a_time("setup-docker"):  # parallel workers: one apt-get and one dockerd start
        result = subprocess.run(
            ["bash", str(SETUP_DOCKER)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT_S,
            check=False,
        )
    if result.returncode == EXIT_DOCKER_UNAVAILABLE:
        pytest.skip(f"Docker unavailable: {_skip_reason(result.stderr)}")
    if result.returncode != 0:
        pytest.fail(f"{SETUP_DOCKER.name} failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
    base_image = result.stdout.strip().splitlines()[-1]
    registry = os.environ.get("MODELSTACK_REGISTRY", "127.0.0.1:5000")
    assert base_image.startswith(f"{registry}/modelstack/base@sha256:"), result.stdout
    return DockerEnv(registry=registry, base_image=base_image)


@pytest.fixture(scope="session")
def local_registry(docker_env: DockerEnv) -> str:
    """host:port of the running local registry."""
    return docker_env.registry


@pytest.fixture(scope="session")
def base_image_digest(docker_env: DockerEnv) -> str:
    """The base image's digest reference, for ``docker build --build-arg BASE=…``."""
    return docker_env.base_image


# --- what the platform expects: the render of the catalog entry ------------------------------------------


@pytest.fixture(scope="session")
def rendered_project(
    wheelhouse: Path, base_image_digest: str, local_registry: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A copy of the project and of its build contexts, where the model is built FROM the local base
    digest (the committed one is illustrative) and the dev stack's registry is the local one."""
    project = tmp_path_factory.mktemp("project")
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, project / name)
    catalog = yaml.safe_load((project / "models.yaml").read_text())
    builds = [v["build"] for m in catalog["models"].values() for v in m["versions"].values() if "build" in v]
    for build_spec in builds:
        shutil.copytree(
            ROOT / build_spec["context"],
            project / build_spec["context"],
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", "model"),
        )
    # Golden sets are read (and validated) at render time, like build contexts: they travel with the copy.
    golden = [
        m["analysis"]["goldenSet"]["file"]
        for m in catalog["models"].values()
        if (m.get("analysis") or {}).get("goldenSet")
    ]
    for file in golden:
        (project / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / file, project / file)
    ours = [v["build"] for v in catalog["models"][MODEL]["versions"].values() if "build" in v]
    assert ours, f"models.yaml: {MODEL} has no version built from a context"
    for build_spec in ours:
        build_spec["base"] = base_image_digest
    (project / "models.yaml").write_text(yaml.safe_dump(catalog, sort_keys=False))
    stack = yaml.safe_load((project / "Pulumi.dev.yaml").read_text())
    stack["config"]["modelstack:registry"]["server"] = local_registry
    (project / "Pulumi.dev.yaml").write_text(yaml.safe_dump(stack, sort_keys=False))
    return project


@pytest.fixture(scope="session")
def serving_contract(
    rendered_project: Path, local_registry: str, tmp_path_factory: pytest.TempPathFactory
) -> RenderedContract:
    """What the platform expects of the container, from ``modelstack render --stack dev`` of the copy."""
    out = tmp_path_factory.mktemp("render") / "dev"
    result = subprocess.run(
        [str(MODELSTACK), "render", "--stack", "dev", "--out", str(out)],
        cwd=rendered_project,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RENDER_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"modelstack render failed ({result.returncode}):\n{result.stderr}"
    contract = derive_contract(*load_render(out), DEPLOYMENT)
    # Not vacuous: derive_contract already refuses a missing probe, HPA, PodMonitor or server alert.
    assert contract.model == MODEL
    assert contract.hpa_metrics and contract.scaling_series and contract.alert_metrics
    assert contract.declared_metrics and contract.metrics and contract.writable_paths
    assert "MODEL_NAME" in contract.env, contract.env
    assert contract.image_repository.startswith(f"{local_registry}/"), contract.image_repository
    return contract


# --- the image ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def wheelhouse(docker_env) -> Path:
    with one_at_a_time("fetch-wheelhouse"):  # workers would otherwise download into one directory at once
        subprocess.run(["bash", str(FETCH_WHEELHOUSE)], stdin=subprocess.DEVNULL, check=True, timeout=600)
    return SERVER_DIR / "wheelhouse"


@pytest.fixture(scope="session")
def build_context(wheelhouse, tmp_path_factory) -> Path:
    """A copy of the build context, so tests can edit it without touching the checkout."""
    return copy_context(tmp_path_factory.mktemp("context") / "model-server")


@pytest.fixture(scope="session")
def pushed_image(build_context, base_image_digest, serving_contract) -> PushedImage:
    """Built and pushed to the repository the rendered Deployment pulls from."""
    repository = serving_contract.image_repository
    tag = f"{repository}:e2e"
    with one_at_a_time(IMAGE_LOCK):
        built = build(build_context, base_image_digest, tag)
        docker("push", tag)
        digests = docker("image", "inspect", "--format", "{{json .RepoDigests}}", tag).stdout
    digest_ref = next(d for d in json.loads(digests) if d.startswith(f"{repository}@"))
    return PushedImage(tag, digest_ref, built)


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("weights")
    subprocess.run(
        [sys.executable, str(SERVER_DIR / "make_weights.py"), "--output", str(directory / "weights.npz")],
        check=True,
        capture_output=True,
    )
    # The container's non-root user reads the bind mount with the host's modes.
    directory.chmod(0o755)
    (directory / "weights.npz").chmod(0o644)
    return directory


# --- containers ----------------------------------------------------------------------------------------


@pytest.fixture
def start_container(
    pushed_image: PushedImage, serving_contract: RenderedContract, weights_dir: Path
) -> Iterator[Callable[..., Container]]:
    """start_container(weights=weights_dir, *docker_run_args) -> Container; removed afterwards."""
    started: list[Container] = []

    def start(weights: Path = weights_dir, *extra: str) -> Container:
        container = run_container(pushed_image.digest_ref, serving_contract, weights, *extra)
        started.append(container)
        return container

    yield start
    for container in started:
        docker("rm", "-f", container.id, check=False)


@pytest.fixture(scope="module")
def serving(pushed_image, serving_contract, weights_dir) -> Iterator[Container]:
    """One ready container of the pushed image, shared by the read-only checks."""
    container = run_container(pushed_image.digest_ref, serving_contract, weights_dir)
    try:
        wait_until(container, serving_contract.readiness)
        yield container
    finally:
        docker("rm", "-f", container.id, check=False)
