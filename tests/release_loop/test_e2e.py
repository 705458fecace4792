"""End to end: real Prometheus scraping real example-server processes, the loop walking the canaries.

Four server processes: the stable version and a good canary (examples/model-server), a canary whose
predictions are degraded and a slow one (examples/degraded-server: DEGRADE_PREDICTIONS with latency
fine, ADDED_LATENCY_MS with accuracy fine). Each sits behind a sidecar reporting Istio's metrics (mesh.py); `modelstack release evaluate`
runs the catalog's golden set against each version's own server and serves the scores on /metrics;
Prometheus scrapes both every second. The loop runs as the CLI on real time with the offline engine as
its apply step, and every step is asserted in the catalog, the git history and the rendered stack.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.gate.conftest import _free_port, _install, _wait_ready
from tests.git_project import GIT_IDENTITY, modelstack_env
from tests.model_server.conftest import ServerProcess, spawn_server
from tests.release_loop.mesh import Mesh, traffic
from tests.release_loop.project import ROOT, LoopProject, loop_project

pytestmark = pytest.mark.integration

__all__ = ["spawn_server"]  # the model-server fixture, used below

NAMESPACE = "ml-e2e"
PAUSE_S = 30
GOLDEN = ROOT / "examples" / "golden-set" / "golden.json"
SERVER = ROOT / "examples" / "model-server" / "server.py"
DEGRADED = ROOT / "examples" / "degraded-server" / "degraded.py"
ANALYSIS = {
    "window": "1m",
    "pause": f"{PAUSE_S}s",
    "steps": [20, 50, 100],
    "minRequests": 50,
    "p99LatencyMs": 800,
    "accuracyDropPercent": 3,
    "goldenSet": {"file": "examples/golden-set/golden.json", "interval": "30s", "route": "mlp"},
    "progressDeadline": "30m",
}
CANARIES = {"good": {}, "inaccurate": {"DEGRADE_PREDICTIONS": "0.2"}, "slow": {"ADDED_LATENCY_MS": "900"}}
DATA_TIMEOUT_S = 90


@dataclass(frozen=True)
class Stage:
    repo: LoopProject
    prometheus: str


def _query(prometheus: str, promql: str) -> list[float]:
    answer = requests.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5).json()
    return [float(item["value"][1]) for item in answer["data"]["result"]]


def _wait_for_data(prometheus: str) -> None:
    """Until every canary has minRequests in the window and every version an accuracy series."""
    deadline = time.monotonic() + DATA_TIMEOUT_S
    while time.monotonic() < deadline:
        counts = _query(
            prometheus,
            f'sum by (destination_workload) (increase(istio_requests_total{{destination_workload_namespace="{NAMESPACE}"}}[1m]))',
        )
        accuracies = _query(prometheus, "modelstack_golden_accuracy")
        if len(counts) == 6 and min(counts) >= 80 and len(accuracies) == 6:
            return
        time.sleep(1)
    pytest.fail(f"no telemetry after {DATA_TIMEOUT_S} s: counts {counts}, accuracies {accuracies}")


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("weights") / "weights.npz"
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "model-server" / "make_weights.py"), "--output", str(out)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture
def stage(tmp_path: Path, weights: Path, spawn_server) -> Iterator[Stage]:
    binaries = _install()
    env = {"MODEL_NAME": "mlp", "WEIGHTS_PATH": str(weights)}
    stable: ServerProcess = spawn_server(env)
    canaries = {
        name: spawn_server({**env, **extra}, script=DEGRADED if extra else SERVER)
        for name, extra in CANARIES.items()
    }
    repo = loop_project(
        tmp_path / "repo",
        {name: (20, ANALYSIS) for name in CANARIES},
        namespace=NAMESPACE,
        committed_at=datetime.now(tz=UTC) - timedelta(minutes=5),
    )
    mesh = Mesh(NAMESPACE)
    sidecars = {}
    for name, canary in canaries.items():
        sidecars[f"{name}-v1"] = mesh.sidecar(name, "v1", stable.urls["api"]) + "/v2/models/mlp/infer"
        sidecars[f"{name}-v2"] = mesh.sidecar(name, "v2", canary.urls["api"]) + "/v2/models/mlp/infer"
    evaluators = []
    golden_targets = []
    for name, canary in canaries.items():
        port = _free_port()
        golden_targets.append(f"127.0.0.1:{port}")
        evaluators.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "modelstack",
                    "release",
                    "evaluate",
                    name,
                    "--target",
                    f"v1={stable.urls['api']}",
                    "--target",
                    f"v2={canary.urls['api']}",
                    "--listen",
                    f"127.0.0.1:{port}",
                    "--interval",
                    "2",
                ],
                cwd=repo.root,
                env=modelstack_env(ROOT),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    config = workdir / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - {{job_name: mesh, static_configs: [{{targets: ['{mesh.metrics_endpoint()}']}}]}}\n"
        f"  - {{job_name: golden, static_configs: [{{targets: {json.dumps(golden_targets)}}}]}}\n"
    )
    port = _free_port()
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        prometheus = subprocess.Popen(
            [
                binaries.prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    payload = json.loads(GOLDEN.read_text())["examples"][0]["input"]
    body = {"inputs": [{"name": "input", "shape": [1, len(payload)], "datatype": "FP32", "data": payload}]}
    try:
        _wait_ready(url, prometheus, log)
        with traffic(sidecars, body, clients=3, pause_s=0.05):
            _wait_for_data(url)
            yield Stage(repo, url)
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=10)
        for evaluator in evaluators:
            evaluator.terminate()
            evaluator.wait(timeout=10)
        mesh.close()


def release(stage: Stage, model: str) -> dict:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelstack",
            "release",
            "run",
            model,
            "--engine",
            "offline",
            "--prometheus",
            stage.prometheus,
            "--json",
        ],
        cwd=stage.repo.root,
        env={**modelstack_env(ROOT), **GIT_IDENTITY},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


def checks(outcome: dict) -> dict[str, tuple[str, float | None]]:
    result = outcome["analyses"][0]["result"]
    return {c["name"]: (c["status"], c["value"]) for c in result["checks"]}


def test_the_loop_walks_a_good_canary_and_rolls_back_the_degraded_ones(stage: Stage) -> None:
    repo = stage.repo

    # good: 20 → 50, every check passing, committed and rendered.
    first = release(stage, "good")
    assert first["action"] == "promote", first["reason"]
    assert checks(first)["accuracy-drop"][0] == "pass" and checks(first)["p99-latency"][0] == "pass"
    assert repo.weights("good") == {"v1": 50, "v2": 50}
    assert repo.rendered_weights("good", NAMESPACE) == {"v1": 50, "v2": 50}
    assert repo.log()[0] == "release(good): promote v2 20 → 50 [stack dev]"

    # good again at once: the 30 s pause counts from the loop's own commit.
    held = release(stage, "good")
    assert held["action"] == "hold" and "pause at weight 50" in held["reason"]

    # inaccurate: accuracy 20 % below stable, latency fine → rolled back in this one run.
    inaccurate = release(stage, "inaccurate")
    assert inaccurate["action"] == "rollback", inaccurate["reason"]
    assert checks(inaccurate)["accuracy-drop"][0] == "fail"
    assert checks(inaccurate)["accuracy-drop"][1] > 3
    assert checks(inaccurate)["p99-latency"][0] == "pass"
    assert repo.weights("inaccurate") == {"v1": 100, "v2": 0}
    assert repo.rendered_weights("inaccurate", NAMESPACE) == {"v1": 100}
    assert "accuracy-drop" in repo.catalog()["models"]["inaccurate"]["failedCanaries"]["v2"]

    # slow: P99 above 800 ms, accuracy as stable's → rolled back in this one run.
    slow = release(stage, "slow")
    assert slow["action"] == "rollback", slow["reason"]
    assert checks(slow)["p99-latency"][0] == "fail" and checks(slow)["p99-latency"][1] > 800
    assert checks(slow)["accuracy-drop"] == ("pass", 0)
    assert repo.weights("slow") == {"v1": 100, "v2": 0}
    assert "Decision: rollback" in repo.git("log", "-1", "--format=%B")

    applied = datetime.fromisoformat(held["weightAppliedAt"])
    time.sleep(max(0.0, PAUSE_S + 1 - (datetime.now(tz=UTC) - applied).total_seconds()))
    second = release(stage, "good")
    assert second["action"] == "promote", (second["reason"], second["weightAppliedAt"], second["evaluatedAt"])
    assert repo.weights("good") == {"v1": 0, "v2": 100}
    assert repo.rendered_weights("good", NAMESPACE) == {"v2": 100}

    assert release(stage, "good")["action"] == "done"
    assert repo.log() == [
        "release(good): promote v2 50 → 100 [stack dev]",
        "release(slow): roll back v2 20 → 0, v1 → 100 [stack dev]",
        "release(inaccurate): roll back v2 20 → 0, v1 → 100 [stack dev]",
        "release(good): promote v2 20 → 50 [stack dev]",
        "base",
    ]

    # Reverting a step restores the stack as it was before it.
    repo.git("-c", "user.name=t", "-c", "user.email=t@t.invalid", "revert", "--no-edit", "HEAD")
    assert repo.run("render").returncode == 0
    assert repo.rendered_weights("good", NAMESPACE) == {"v1": 50, "v2": 50}
