"""Fixtures for the example model server (examples/model-server): its modules, weights files, and
servers running in-process or as a subprocess on 127.0.0.1 with a free port. No Docker."""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SERVER_DIR = Path(__file__).resolve().parents[2] / "examples" / "model-server"
_LISTENING = re.compile(r"listening \((?P<role>api|metrics)\) on http://(?P<host>[^:]+):(?P<port>\d+)")
START_TIMEOUT_S = 20


def _load_module(name: str, filename: str) -> ModuleType:
    # The directory name has a dash, so load by path; register first so dataclasses resolve.
    spec = importlib.util.spec_from_file_location(name, SERVER_DIR / filename)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def server_module() -> ModuleType:
    # server.py imports its package (mlp_server/) from its own directory, as a script run finds it;
    # appended, so nothing the tests import is shadowed by the example's files.
    if str(SERVER_DIR) not in sys.path:
        sys.path.append(str(SERVER_DIR))
    return _load_module("modelstack_example_server", "server.py")


@pytest.fixture(scope="session")
def weights_module() -> ModuleType:
    return _load_module("modelstack_example_make_weights", "make_weights.py")


@pytest.fixture
def make_weights(tmp_path: Path, weights_module: ModuleType) -> Callable[..., Path]:
    """make_weights(scale=1.0, name="weights.npz") -> path of a fresh weights file under tmp_path."""

    def make(scale: float = 1.0, name: str = "weights.npz") -> Path:
        return Path(weights_module.make_weights(tmp_path / name, scale=scale))

    return make


@pytest.fixture
def weights_file(make_weights: Callable[..., Path]) -> Path:
    return make_weights()


# --- HTTP --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


def _http(method: str, url: str, payload: Any = None, *, raw: bytes | None = None) -> Reply:
    data = raw if raw is not None else (None if payload is None else json.dumps(payload).encode())
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers), error.read())


def _infer_payload(rows: list[list[float]]) -> dict[str, Any]:
    flat = [value for row in rows for value in row]
    shape = [len(rows), len(rows[0])]
    return {"inputs": [{"name": "input", "shape": shape, "datatype": "FP32", "data": flat}]}


@pytest.fixture
def http() -> Callable[..., Reply]:
    """http(method, url, payload=None, raw=None) -> Reply; HTTP errors are replies, not exceptions."""
    return _http


@pytest.fixture
def infer_payload() -> Callable[[list[list[float]]], dict[str, Any]]:
    """infer_payload(rows) -> a KServe-v2 request body for an FP32 batch."""
    return _infer_payload


# --- servers -----------------------------------------------------------------------------------------


@pytest.fixture
def start_server(server_module: ModuleType) -> Iterator[Callable[..., str]]:
    """start_server(weights_path=..., precision=..., ...) -> base URL of an in-process server."""
    running: list[Any] = []

    def start(**overrides: Any) -> str:
        settings = server_module.Settings(host="127.0.0.1", port=0, **overrides)
        servers = server_module.start(settings)
        running.append(servers)
        return f"http://127.0.0.1:{servers[0].port}"

    yield start
    for servers in running:
        server_module.stop(servers)


@dataclass
class ServerProcess:
    """server.py as a child process; ``urls`` maps role (api, metrics) to base URL once it listens."""

    proc: subprocess.Popen[str]
    urls: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    _lines: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._lines.put(line)
        self._lines.put(None)

    def wait_listening(self, roles: set[str]) -> None:
        while not roles <= self.urls.keys():
            line = self._lines.get(timeout=START_TIMEOUT_S)
            if line is None:
                raise AssertionError(f"server exited ({self.proc.wait()}):\n{''.join(self.lines)}")
            self.lines.append(line)
            if match := _LISTENING.search(line):
                self.urls[match["role"]] = f"http://{match['host']}:{match['port']}"

    def drain(self) -> str:
        while (line := self._lines.get(timeout=START_TIMEOUT_S)) is not None:
            self.lines.append(line)
        return "".join(self.lines)


@pytest.fixture
def spawn_server() -> Iterator[Callable[..., ServerProcess]]:
    """spawn_server(env, prefix=(), roles={"api"}, script=server.py) -> ServerProcess, listening on
    127.0.0.1:<free port>."""
    spawned: list[ServerProcess] = []

    def spawn(
        env: Mapping[str, str],
        prefix: tuple[str, ...] = (),
        roles: frozenset[str] = frozenset({"api"}),
        script: Path = SERVER_DIR / "server.py",
    ) -> ServerProcess:
        full_env = {"PATH": os.environ.get("PATH", ""), "HOST": "127.0.0.1", "PORT": "0", **env}
        proc = subprocess.Popen(
            [*prefix, sys.executable, str(script)],
            env=full_env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        server = ServerProcess(proc)
        spawned.append(server)
        threading.Thread(target=server.pump, daemon=True).start()
        if roles:
            server.wait_listening(set(roles))
        return server

    yield spawn
    for server in spawned:
        if server.proc.poll() is None:
            server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(timeout=10)


@pytest.fixture
def without_file_permission_override() -> tuple[str, ...]:
    """Command prefix under which chmod 000 really denies reading (root bypasses file modes)."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv (util-linux) is missing: cannot make a file unreadable")
    return ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")
