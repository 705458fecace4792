"""A real Prometheus with known Istio telemetry, backfilled once per test session.

`scripts/setup-prometheus.sh` installs Debian's prometheus/promtool when missing (CI runs as root on a
fresh machine); the series from `series.py` are backfilled with `promtool tsdb create-blocks-from
openmetrics` and served by a `prometheus` on 127.0.0.1 and a free port, stopped at the end of the session.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.locks import one_at_a_time

from .series import openmetrics

REPO = Path(__file__).resolve().parents[2]
SETUP_SCRIPT = REPO / "scripts" / "setup-prometheus.sh"
READY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Binaries:
    prometheus: str
    promtool: str


def _install() -> Binaries:
    with one_at_a_time("setup-prometheus"):  # parallel workers: one apt-get at a time
        proc = subprocess.run(
            ["bash", str(SETUP_SCRIPT)], capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL
        )
    if proc.returncode != 0:
        pytest.skip(f"Prometheus cannot be installed ({SETUP_SCRIPT.name}): {proc.stderr.strip()[-500:]}")
    paths = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return Binaries(prometheus=paths["prometheus"], promtool=paths["promtool"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _backfill(promtool: str, workdir: Path) -> Path:
    source, tsdb = workdir / "series.om", workdir / "tsdb"
    source.write_text(openmetrics())
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(source), str(tsdb)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return tsdb


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"prometheus not ready after {READY_TIMEOUT_S:.0f} s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running Prometheus holding the scenarios of `series.py`."""
    binaries = _install()
    workdir = tmp_path_factory.mktemp("prometheus")
    tsdb = _backfill(binaries.promtool, workdir)
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\n")  # nothing to scrape: the data is backfilled
    port = _free_port()
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                binaries.prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={tsdb}",
                # Backfilled blocks are from 2024: a normal retention would delete them at start-up.
                "--storage.tsdb.retention.time=100y",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
