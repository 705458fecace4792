"""The example model server as a real image: built offline FROM the base digest, pushed to the local
registry, run the way the platform runs it (non-root, read-only root filesystem, weights mounted
read-only), and layered so that code changes reuse the dependency layer and lock changes do not.

What the platform expects of the container is read from the objects ``modelstack render`` produces for
its catalog entry (``text-embedder``): the ``serving_contract`` fixture renders a copy of the project,
with the entry built FROM the local base digest and the stack's registry pointed at the local one, and
derives (``rendered_contract``) the probe paths and ports, the PodMonitor's metrics endpoint, the HPA's
metric, the metrics the alert rules query from the server, the user, read-only root, writable paths,
weights mount, environment and image repository. The image is pushed to that repository and run by its
pushed digest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.integration.rendered_contract import HttpEndpoint, RenderedContract, derive_contract, load_render

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SERVER_DIR = ROOT / "examples" / "model-server"
FETCH_WHEELHOUSE = ROOT / "scripts" / "fetch-wheelhouse.sh"
SETUP_DOCKER = ROOT / "scripts" / "setup-docker.sh"
MODELSTACK = Path(sys.executable).with_name("modelstack")
CONTEXT_FILES = ("Dockerfile", ".dockerignore", "requirements.txt", "server.py")
PROJECT_FILES = ("Pulumi.yaml", "Pulumi.dev.yaml", "models.yaml")
MODEL = "text-embedder"
DEPLOYMENT = "text-embedder-v1"
READY_TIMEOUT_S = 30
RENDER_TIMEOUT_S = 300
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


# --- what the platform expects: the render of the catalog entry ------------------------------------------


@pytest.fixture(scope="module")
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
    ours = [v["build"] for v in catalog["models"][MODEL]["versions"].values() if "build" in v]
    assert ours, f"models.yaml: {MODEL} has no version built from a context"
    for build_spec in ours:
        build_spec["base"] = base_image_digest
    (project / "models.yaml").write_text(yaml.safe_dump(catalog, sort_keys=False))
    stack = yaml.safe_load((project / "Pulumi.dev.yaml").read_text())
    stack["config"]["modelstack:registry"]["server"] = local_registry
    (project / "Pulumi.dev.yaml").write_text(yaml.safe_dump(stack, sort_keys=False))
    return project


@pytest.fixture(scope="module")
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


def model_name(contract: RenderedContract) -> str:
    """The name the server routes and labels by: the rendered MODEL_NAME."""
    return contract.env["MODEL_NAME"]


# --- helpers -------------------------------------------------------------------------------------------


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


def copy_context(destination: Path) -> Path:
    destination.mkdir(parents=True)
    for name in CONTEXT_FILES:
        shutil.copy2(SERVER_DIR / name, destination / name)
    shutil.copytree(SERVER_DIR / "wheelhouse", destination / "wheelhouse")
    return destination


# --- image ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheelhouse(docker_env) -> Path:
    subprocess.run(["bash", str(FETCH_WHEELHOUSE)], stdin=subprocess.DEVNULL, check=True, timeout=600)
    return SERVER_DIR / "wheelhouse"


@pytest.fixture(scope="module")
def build_context(wheelhouse, tmp_path_factory) -> Path:
    """A copy of the build context, so tests can edit it without touching the checkout."""
    return copy_context(tmp_path_factory.mktemp("context") / "model-server")


@dataclass(frozen=True)
class PushedImage:
    tag: str
    digest_ref: str
    build: Build


@pytest.fixture(scope="module")
def pushed_image(build_context, base_image_digest, serving_contract) -> PushedImage:
    """Built and pushed to the repository the rendered Deployment pulls from."""
    repository = serving_contract.image_repository
    tag = f"{repository}:e2e"
    built = build(build_context, base_image_digest, tag)
    docker("push", tag)
    digests = docker("image", "inspect", "--format", "{{json .RepoDigests}}", tag).stdout
    digest_ref = next(d for d in json.loads(digests) if d.startswith(f"{repository}@"))
    return PushedImage(tag, digest_ref, built)


@pytest.fixture(scope="module")
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


# --- the pushed image ----------------------------------------------------------------------------------


def test_pushed_image_is_addressed_by_the_digest_the_registry_serves(
    pushed_image, local_registry, serving_contract
):
    assert DIGEST.search(pushed_image.digest_ref), pushed_image.digest_ref
    assert pushed_image.digest_ref.startswith(serving_contract.image_repository + "@")
    path = serving_contract.image_repository.removeprefix(f"{local_registry}/")
    manifest = urllib.request.Request(
        f"http://{local_registry}/v2/{path}/manifests/e2e",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(manifest, timeout=5) as response:
        served = response.headers["Docker-Content-Digest"]

    assert pushed_image.digest_ref.endswith("@" + served)


def test_image_declares_the_contract_user(pushed_image, serving_contract):
    user = docker("image", "inspect", "--format", "{{.Config.User}}", pushed_image.digest_ref).stdout.strip()

    assert user == serving_contract.run_as


def test_the_server_takes_its_settings_from_the_rendered_env(pushed_image, serving_contract):
    # The image's own ENV must not shadow what the pod spec injects (weights path, precision, name).
    script = (
        "import json, os, sys; sys.path.insert(0, '/opt/model-server'); import server; "
        "s = server.Settings.from_env(os.environ); "
        "print(json.dumps({'weights': str(s.weights_path), 'precision': s.precision, 'name': s.model_name}))"
    )
    env = [arg for name, value in serving_contract.env.items() for arg in ("-e", f"{name}={value}")]

    result = docker(
        "run",
        "--rm",
        "--user",
        serving_contract.run_as,
        *env,
        "--entrypoint",
        "python3",
        pushed_image.digest_ref,
        "-c",
        script,
    )

    assert json.loads(result.stdout) == {
        "weights": serving_contract.env["MODEL_WEIGHTS_PATH"],
        "precision": serving_contract.env["MODEL_PRECISION"],
        "name": model_name(serving_contract),
    }
    assert serving_contract.env["MODEL_WEIGHTS_PATH"] == serving_contract.weights_mount


def test_build_refuses_a_base_that_is_not_a_digest(build_context, base_image_digest):
    # The same base, by its (existing, pullable) tag: refused for being movable, not for being absent.
    tags = docker("image", "inspect", "--format", "{{json .RepoTags}}", base_image_digest).stdout
    tag_ref = json.loads(tags)[0]

    result = docker(
        "build",
        "--force-rm",
        "--network",
        "none",
        "--build-arg",
        f"BASE={tag_ref}",
        str(build_context),
        check=False,
    )

    assert result.returncode != 0
    assert "BASE must be a digest reference" in result.stdout + result.stderr


# --- the running container -----------------------------------------------------------------------------


@pytest.mark.parametrize("probe", ["liveness", "readiness", "startup"])
def test_probe_answers_200_on_its_port_with_weights_mounted_read_only(serving, serving_contract, probe):
    endpoint = serving_contract.probes[probe]

    assert http_get(serving.url(endpoint))[0] == 200, f"{probe}Probe {endpoint}"


def exposed_metrics(text: str) -> set[str]:
    """Sample names, and family names from ``# TYPE`` (a histogram's samples carry suffixes)."""
    samples = {
        line.split("{", 1)[0].split(" ", 1)[0] for line in text.splitlines() if not line.startswith("#")
    }
    families = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    return samples | families


def test_metrics_endpoint_exposes_every_metric_the_platform_queries(serving, serving_contract):
    # The HPA's series, the alert rules' and every one the stack's contract says the server exposes.
    for endpoint in serving_contract.metrics:
        status, text = http_get(serving.url(endpoint))

        assert status == 200, endpoint
        exposed = exposed_metrics(text)
        missing = [m for m in serving_contract.expected_metrics if m not in exposed]
        assert not missing, f"{endpoint}: missing {missing}; exposed {sorted(exposed)}"


def test_hpa_metric_is_labelled_with_the_model_name(serving, serving_contract):
    [endpoint, *_] = serving_contract.metrics
    text = http_get(serving.url(endpoint))[1]

    for series in serving_contract.scaling_series:
        assert f'{series}{{model="{model_name(serving_contract)}"}}' in text, series


def test_inference_answers_one_output_row_per_input_row(serving, serving_contract):
    payload = {"inputs": [{"name": "input", "shape": [2, 16], "datatype": "FP32", "data": [0.25] * 32}]}
    # The API listens where the readiness probe asks.
    api = HttpEndpoint(serving_contract.readiness.port, f"/v2/models/{model_name(serving_contract)}/infer")

    status, body = http_post_json(serving.url(api), payload)

    assert status == 200, body
    assert body["outputs"][0]["shape"] == [2, 4]  # type: ignore[index]


def test_process_runs_as_the_contract_user(serving, serving_contract):
    ids = serving.exec("sh", "-c", 'echo "$(id -u):$(id -g)"')

    assert ids.stdout.strip() == serving_contract.run_as


def test_serves_within_the_rendered_cpu_and_memory_limits(serving, serving_contract):
    limits = json.loads(docker("inspect", "--format", "{{json .HostConfig}}", serving.id).stdout)

    assert limits["NanoCpus"] == round(serving_contract.cpu_limit * 1e9)
    assert limits["Memory"] == serving_contract.memory_limit_bytes


def test_root_filesystem_is_read_only(serving, serving_contract):
    assert serving_contract.read_only_root
    result = serving.exec("sh", "-c", "touch /x")

    assert result.returncode != 0
    assert "Read-only file system" in result.stderr


def test_weights_mount_is_read_only(serving, serving_contract):
    result = serving.exec("sh", "-c", f"touch {serving_contract.weights_mount}/x")

    assert result.returncode != 0


def test_writable_paths_are_writable(serving, serving_contract):
    for path in serving_contract.writable_paths:
        assert serving.exec("sh", "-c", f"touch {path}/probe").returncode == 0, path


def test_not_ready_while_the_weights_are_unreadable_to_the_container_user(
    start_container, serving_contract, tmp_path
):
    unreadable = tmp_path / "weights"
    unreadable.mkdir(mode=0o755)
    (unreadable / "weights.npz").write_bytes(b"")
    (unreadable / "weights.npz").chmod(0o000)

    container = start_container(unreadable)

    wait_until(container, serving_contract.liveness)
    status, body = http_get(container.url(serving_contract.readiness))
    assert status == 503
    assert "Permission denied" in body
    assert f"{serving_contract.weights_mount}/weights.npz" in body  # read from the rendered mount


def test_stops_promptly_with_exit_code_0_on_sigterm(start_container, serving_contract):
    container = start_container()
    wait_until(container, serving_contract.liveness)

    started = time.monotonic()
    docker("stop", "--time", "10", container.id)

    assert time.monotonic() - started < 5  # well before docker's SIGKILL
    assert docker("inspect", "--format", "{{.State.ExitCode}}", container.id).stdout.strip() == "0"


# --- layer reuse ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layers:
    dependencies: str
    code: str


def split_layers(built: Build, base_image: str) -> Layers:
    """The Dockerfile's final stage is base + one dependency layer + one code layer."""
    base = layers(base_image)
    assert built.layers[: len(base)] == base, "the image is not built FROM the base digest"
    assert len(built.layers) == len(base) + 2, built.layers
    return Layers(dependencies=built.layers[len(base)], code=built.layers[len(base) + 1])


@pytest.fixture
def variant(
    tmp_path: Path, base_image_digest: str, serving_contract: RenderedContract
) -> Iterator[Callable[[str, str], Build]]:
    """variant(file, appended_text) -> Build of a context copy with one file edited; image removed after."""
    tags: list[str] = []
    dangling_before = set(dangling_images())

    def make(file: str, appended: str) -> Build:
        context = copy_context(tmp_path / f"context-{len(tags)}")
        with (context / file).open("a") as handle:
            handle.write(appended)
        tag = f"{serving_contract.image_repository}:variant-{uuid.uuid4().hex[:12]}"
        tags.append(tag)
        return build(context, base_image_digest, tag)

    yield make
    for tag in tags:
        docker("rmi", "-f", tag, check=False)
    # The untagged dependency stage of each variant would otherwise pile up run after run.
    for image in set(dangling_images()) - dangling_before:
        docker("rmi", image, check=False)


def dangling_images() -> list[str]:
    return docker("images", "--quiet", "--no-trunc", "--filter", "dangling=true").stdout.split()


def test_code_change_reuses_the_dependency_layer(pushed_image, variant, base_image_digest):
    before = split_layers(pushed_image.build, base_image_digest)

    changed = variant("server.py", f"\n# e2e code change {uuid.uuid4()}\n")
    after = split_layers(changed, base_image_digest)

    assert after.dependencies == before.dependencies
    assert after.code != before.code
    assert "Successfully installed" not in changed.output  # pip did not run again


def test_lock_file_change_rebuilds_the_dependency_layer(pushed_image, variant, base_image_digest):
    before = split_layers(pushed_image.build, base_image_digest)

    changed = variant("requirements.txt", f"# e2e lock change {uuid.uuid4()}\n")
    after = split_layers(changed, base_image_digest)

    assert after.dependencies != before.dependencies
    assert "Successfully installed" in changed.output  # pip ran again


# --- setup script ----------------------------------------------------------------------------------------


def test_setup_exits_77_with_a_one_line_reason_where_docker_cannot_run(tmp_path):
    # No engine to talk to, and (as root) no CAP_SYS_ADMIN to start one: an unprivileged container.
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root without setpriv (util-linux): cannot drop CAP_SYS_ADMIN")
        prefix = ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", "--"]
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock", "MODELSTACK_CACHE": str(tmp_path)}

    result = subprocess.run(
        [*prefix, "bash", str(SETUP_DOCKER)], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 77, result.stderr
    assert any(line.startswith("SKIP: ") for line in result.stderr.splitlines())
    assert result.stdout == ""
