"""The rendered evaluator, run as its Deployment runs it, against real example-server processes.

From the dev render (text-embedder with a canary v2): the ConfigMap's files are written where the
Deployment mounts them (a temporary directory standing for the mount path), and the container's exact
command, args and environment run — with a stdlib-only interpreter (`-S` on top of the rendered `-I`:
this test's interpreter is a virtual environment whose site-packages hold modelstack). The version
endpoints of the rendered spec point at loopback servers: v1 the example server, v2 the deliberately
degraded one (examples/degraded-server, DEGRADE_PREDICTIONS=0.2: accuracy 0.79 on the golden set).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.traffic.names import version_endpoint
from modelstack.engine.render import Render
from tests.gate.conftest import _free_port, _install
from tests.model_server.conftest import spawn_server
from tests.quality.conftest import MODEL, ROOT, only

__all__ = ["spawn_server"]  # the model-server fixture, used below

DEGRADED = ROOT / "examples" / "degraded-server" / "degraded.py"
EVALUATOR = f"{MODEL}-golden-eval"
SCORE_TIMEOUT_S = 60


@dataclass(frozen=True)
class Running:
    metrics_url: str
    health_url: str
    spec: dict[str, Any]
    exposition: str


def _container(render: Render) -> tuple[dict[str, Any], dict[str, Any]]:
    deployment = only(render, "Deployment", EVALUATOR)
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    return pod, container


def _written_mount(render: Render, where: Path) -> Path:
    """The ConfigMap the pod mounts, as files in `where`."""
    pod, _ = _container(render)
    [volume] = pod["volumes"]
    config = only(render, "ConfigMap", volume["configMap"]["name"])
    for name, text in config["data"].items():
        (where / name).write_text(text, encoding="utf-8")
    return where


def _command(render: Render, mount: Path, listen: str) -> list[str]:
    _, container = _container(render)
    [volume_mount] = container["volumeMounts"]
    mount_path = volume_mount["mountPath"]
    argv = [*container["command"], *container["args"]]
    assert argv[0] == "python"
    prefix = mount_path.rstrip("/") + "/"
    argv = [
        sys.executable,
        "-S",
        *(f"{mount}/{a[len(prefix) :]}" if a.startswith(prefix) else a for a in argv[1:]),
    ]
    at = argv.index("--listen")
    argv[at + 1] = listen  # loopback only, on a free port
    return argv


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def accuracies(exposition: str) -> dict[str, float]:
    found = {}
    for line in exposition.splitlines():
        if line.startswith("modelstack_golden_accuracy{"):
            labels, value = line.rsplit(" ", 1)
            version = labels.split('version="', 1)[1].split('"', 1)[0]
            found[version] = float(value)
    return found


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("weights") / "weights.npz"
    maker = ROOT / "examples" / "model-server" / "make_weights.py"
    subprocess.run([sys.executable, str(maker), "--output", str(out)], check=True, capture_output=True)
    return out


@pytest.fixture
def running(canary_render: Render, tmp_path: Path, spawn_server, weights_file: Path) -> Iterator[Running]:
    mount = _written_mount(canary_render, tmp_path)
    spec = json.loads((mount / "spec.json").read_text(encoding="utf-8"))
    env = {"MODEL_NAME": MODEL, "WEIGHTS_PATH": str(weights_file)}  # MODEL_NAME as the catalog sets it
    servers = {
        "v1": spawn_server(env),
        "v2": spawn_server({**env, "DEGRADE_PREDICTIONS": "0.2"}, script=DEGRADED),
    }
    rendered_targets = dict(spec["targets"])
    spec["targets"] = {v: servers[v].urls["api"] for v in rendered_targets}
    (mount / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    port = _free_port()
    _, container = _container(canary_render)
    environment = {e["name"]: e["value"] for e in container["env"]}
    proc = subprocess.Popen(
        _command(canary_render, mount, f"127.0.0.1:{port}"),
        env={"PATH": os.environ.get("PATH", ""), **environment},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    metrics = f"http://127.0.0.1:{port}/metrics"
    probe = container["livenessProbe"]["httpGet"]
    assert probe["port"] == container["ports"][0]["name"]
    try:
        deadline = time.monotonic() + SCORE_TIMEOUT_S
        text = ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                text = _get(metrics)[1]
            except OSError:
                text = ""
            if set(accuracies(text)) == set(rendered_targets):
                break
            time.sleep(0.2)
        else:
            stderr = proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
            pytest.fail(f"no accuracy for every version after {SCORE_TIMEOUT_S} s: {text!r} {stderr}")
        yield Running(
            metrics, f"http://127.0.0.1:{port}{probe['path']}", {**spec, "rendered": rendered_targets}, text
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_rendered_spec_names_each_versions_own_service(canary_render: Render, tmp_path: Path) -> None:
    spec = json.loads((_written_mount(canary_render, tmp_path) / "spec.json").read_text(encoding="utf-8"))

    port = 8000  # triton preset's HTTP port, the versions' Services' port
    assert spec["targets"] == {v: version_endpoint(MODEL, v, "ml-dev", port) for v in ("v1", "v2")}
    assert (spec["route"], spec["intervalSeconds"]) == (MODEL, 30.0)


def test_the_rendered_program_scores_each_version_on_the_golden_set(running: Running) -> None:
    scores = accuracies(running.exposition)

    assert scores["v1"] == pytest.approx(1.0)  # the labels are what the reviewed weights answer
    assert scores["v2"] == pytest.approx(0.79, abs=0.03)  # a fifth of the inputs rotated


def test_the_series_carry_the_labels_the_gate_selects_on(running: Running) -> None:
    line = next(x for x in running.exposition.splitlines() if x.startswith("modelstack_golden_accuracy{"))

    assert line.startswith('modelstack_golden_accuracy{namespace="ml-dev",model="text-embedder",version="v')


def test_the_served_exposition_passes_promtool_check_metrics(running: Running) -> None:
    promtool = _install().promtool
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=running.exposition.encode(), capture_output=True, timeout=60
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == b""


def test_the_probes_path_answers_while_rounds_finish(running: Running) -> None:
    assert _get(running.health_url) == (200, "ok\n")


def test_the_program_refuses_an_unusable_spec_with_exit_2(tmp_path: Path, canary_render: Render) -> None:
    mount = _written_mount(canary_render, tmp_path)
    (mount / "spec.json").write_text('{"namespace": "ml-dev"}', encoding="utf-8")

    done = subprocess.run(
        _command(canary_render, mount, f"127.0.0.1:{_free_port()}"),
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert done.returncode == 2
    assert "missing or invalid model, route, golden, targets" in done.stderr
