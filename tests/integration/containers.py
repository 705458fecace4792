"""What the image tests do with Docker and HTTP: run docker, build the example server's context (a copy
of exactly the files its Dockerfile copies), run the image as the rendered pod would, and wait for it.

Plain functions and records; the fixtures that use them live in conftest.py, the tests in test_image_*.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.integration.rendered_contract import HttpEndpoint, RenderedContract

ROOT = Path(__file__).resolve().parents[2]
SERVER_DIR = ROOT / "examples" / "model-server"
CONTEXT_FILES = ("Dockerfile", ".dockerignore", "requirements.txt", "server.py")
# Copied whole (bytecode left out); wheelhouse/ is what scripts/fetch-wheelhouse.sh filled.
CONTEXT_DIRS = ("mlp_server", "wheelhouse")
SETUP_DOCKER = ROOT / "scripts" / "setup-docker.sh"
READY_TIMEOUT_S = 30
IMAGE_LOCK = "model-server-image"
"""Held while the example image is built and pushed, or a layer-reuse variant built and cleaned up."""


def model_name(contract: RenderedContract) -> str:
    """The name the server routes and labels by: the rendered MODEL_NAME."""
    return contract.env["MODEL_NAME"]


def docker(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["docker", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def http_get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def http_post_json(url: str, payload: object) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def layers(image: str) -> list[str]:
    return list(json.loads(docker("image", "inspect", "--format", "{{json .RootFS.Layers}}", image).stdout))


@dataclass(frozen=True)
class Build:
    image: str
    output: str
    layers: list[str]


def build(context: Path, base: str, tag: str) -> Build:
    # --network none: the build must need nothing but its context; --force-rm: no leftover containers.
    result = docker(
        "build",
        "--force-rm",
        "--network",
        "none",
        "--build-arg",
        f"BASE={base}",
        "-t",
        tag,
        str(context),
        timeout=600,
    )
    output = result.stdout + result.stderr
    return Build(tag, output, layers(tag))


@dataclass(frozen=True)
class PushedImage:
    tag: str
    digest_ref: str
    build: Build


def copy_context(destination: Path) -> Path:
    destination.mkdir(parents=True)
    for name in CONTEXT_FILES:
        shutil.copy2(SERVER_DIR / name, destination / name)
    for name in CONTEXT_DIRS:
        shutil.copytree(SERVER_DIR / name, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


@dataclass(frozen=True)
class Container:
    id: str
    addresses: dict[int, str]
    """Container port -> ``http://127.0.0.1:<published port>``."""

    def url(self, endpoint: HttpEndpoint) -> str:
        return self.addresses[endpoint.port] + endpoint.path

    def exec(self, *command: str) -> subprocess.CompletedProcess[str]:
        return docker("exec", self.id, *command, check=False)


def run_container(image: str, contract: RenderedContract, weights: Path, *extra: str) -> Container:
    """Runs ``image`` as the rendered pod would: its user, root filesystem, writable paths (tmpfs for
    emptyDir), environment, read-only weights mount, CPU and memory limits and args; every probe and
    metrics port published."""
    args = ["run", "-d", "--user", contract.run_as]
    args += ["--cpus", f"{contract.cpu_limit:g}", "--memory", str(contract.memory_limit_bytes)]
    if contract.read_only_root:
        args.append("--read-only")
    for path in contract.writable_paths:
        args += ["--tmpfs", path]
    for name, value in contract.env.items():
        args += ["-e", f"{name}={value}"]
    for port in contract.ports:
        args += ["-p", f"127.0.0.1::{port}"]
    args += ["-v", f"{weights}:{contract.weights_mount}:ro", *extra, image, *contract.args]
    container_id = docker(*args).stdout.strip()

    def address(port: int) -> str:
        return "http://" + docker("port", container_id, f"{port}/tcp").stdout.splitlines()[0].strip()

    return Container(container_id, {port: address(port) for port in contract.ports})


def wait_until(container: Container, endpoint: HttpEndpoint, status: int = 200) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = http_get(container.url(endpoint))
            if last[0] == status:
                return
        except (urllib.error.URLError, ConnectionError) as exc:
            last = exc
        time.sleep(0.2)
    logs = docker("logs", container.id, check=False)
    raise AssertionError(
        f"{endpoint} never answered {status} (last: {last}); logs:\n{logs.stdout}{logs.stderr}"
    )
