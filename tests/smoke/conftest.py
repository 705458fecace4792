"""A real model-server stand-in for the smoke checker: stdlib http.server on 127.0.0.1 and a free port."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

GOOD = {"model_name": "resnet", "outputs": [{"name": "probs", "shape": [2], "data": [0.1, 0.9]}]}
LOADING_503S = 2  # /loading answers 503 this many times before it is ready

# path -> (status, raw body); raw so that NaN/Infinity literals reach the client as a real server sends them.
RESPONSES: dict[str, tuple[int, str]] = {
    "/good": (200, json.dumps(GOOD)),
    "/nan": (200, '{"outputs": [{"name": "probs", "data": [NaN, 0.9]}]}'),
    "/infinity": (200, '{"outputs": [{"name": "probs", "data": [0.1, -Infinity]}]}'),
    "/nan-string": (200, '{"outputs": [{"name": "probs", "data": ["NaN", 0.9]}]}'),
    "/nan-lowercase-string": (200, '{"outputs": [{"name": "probs", "data": ["nan", 0.9]}]}'),
    "/nan-elsewhere": (200, '{"outputs": [{"name": "probs", "data": [0.1, 0.9]}], "logits": [1.5, NaN]}'),
    "/overflow": (200, '{"outputs": [{"name": "probs", "data": [1e999, 0.9]}]}'),
    "/off": (200, json.dumps({"outputs": [{"name": "probs", "data": [0.2, 0.9]}]})),
    "/short": (200, json.dumps({"outputs": [{"name": "probs", "data": [0.1]}]})),
    "/renamed": (200, json.dumps({"outputs": [{"name": "scores", "data": [0.1, 0.9]}]})),
    "/error": (500, '{"error": "CUDA error: device-side assert triggered"}'),
    "/not-json": (200, "<html>gateway</html>"),
}


class _Handler(BaseHTTPRequestHandler):
    loading_calls = 0

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            json.loads(self.rfile.read(length))  # a golden request body is JSON
        if self.path == "/loading":
            type(self).loading_calls += 1
            ready = type(self).loading_calls > LOADING_503S
            status, body = (200, json.dumps(GOOD)) if ready else (503, "no healthy upstream")
        else:
            status, body = RESPONSES.get(self.path, (404, '{"error": "not found"}'))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer  # noqa: N815 — http.server's naming

    def log_message(self, format: str, *args: object) -> None:  # keeps pytest output clean
        pass


@pytest.fixture(scope="session")
def model_server() -> Iterator[str]:
    """Base URL of the stand-in server."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def reset_loading() -> None:
    _Handler.loading_calls = 0
