"""Docker fixtures for integration tests: a Docker engine, the local registry and the base image, all
prepared by scripts/setup-docker.sh (idempotent; seconds when warm, about a minute cold)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.locks import one_at_a_time

ROOT = Path(__file__).resolve().parents[2]
SETUP_DOCKER = ROOT / "scripts" / "setup-docker.sh"
EXIT_DOCKER_UNAVAILABLE = 77  # the script's "Docker cannot run here" code; its reason is on stderr
SETUP_TIMEOUT_S = 1800  # cold: apt-get install and a debootstrap


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
