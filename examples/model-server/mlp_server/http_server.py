"""HTTP: the routes (health, model metadata, ready, infer, metrics) on the standard library's threading
server, JSON answers, body limits; one listener serves the API, an optional second only ``/metrics``."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from .app import ModelServer
from .metrics import METRICS_CONTENT_TYPE
from .protocol import RequestError

LOG = logging.getLogger("model-server")  # one logger for the whole server

LIVE_PATH = "/v2/health/live"
READY_PATH = "/v2/health/ready"
METRICS_PATH = "/metrics"
_MODEL_ROUTE = re.compile(r"^/v2/models/(?P<name>[^/]+)(?P<rest>/ready|/infer)?$")


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client must not block shutdown
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: ModelServer, serve_metrics_only: bool) -> None:
        super().__init__(address, Handler)
        self.app = app
        self.serve_metrics_only = serve_metrics_only

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "modelstack-model-server/1"

    @property
    def _server(self) -> HttpServer:
        return cast(HttpServer, self.server)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            self._route(method, self.path.split("?", 1)[0])
        except RequestError as exc:
            self._send_json(exc.status, {"error": exc.message})
        except Exception:  # a bug must cost one request, not the connection thread's silence
            LOG.exception("unhandled error on %s %s", method, self.path)
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})

    def _route(self, method: str, path: str) -> None:
        app = self._server.app
        if path == METRICS_PATH and (self._server.serve_metrics_only or app.settings.metrics_port is None):
            self._require(method, "GET")
            self._send(HTTPStatus.OK, app.metrics.render(), METRICS_CONTENT_TYPE)
        elif self._server.serve_metrics_only:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no route {path} (this port serves {METRICS_PATH})")
        elif path == LIVE_PATH:
            self._require(method, "GET")
            self._send_json(HTTPStatus.OK, {"live": True})
        elif path == READY_PATH:
            self._require(method, "GET")
            self._send_readiness()
        elif match := _MODEL_ROUTE.match(path):
            self._model_route(method, match["name"], match["rest"] or "")
        else:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no route {path}")

    def _model_route(self, method: str, name: str, rest: str) -> None:
        app = self._server.app
        if name != app.settings.model_name:
            raise RequestError(HTTPStatus.NOT_FOUND, f"unknown model {name!r}")
        if rest == "/infer":
            self._require(method, "POST")
            self._send_json(HTTPStatus.OK, app.infer(self._read_body()))
        elif rest == "/ready":
            self._require(method, "GET")
            self._send_readiness()
        else:
            self._require(method, "GET")
            self._send_json(HTTPStatus.OK, app.metadata())

    def _send_readiness(self) -> None:
        ready, reason = self._server.app.readiness()
        if ready:
            self._send_json(HTTPStatus.OK, {"ready": True})
        else:
            self._send_json(HTTPStatus.SERVICE_UNAVAILABLE, {"ready": False, "reason": reason})

    def _require(self, method: str, allowed: str) -> None:
        if method != allowed:
            raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED, f"use {allowed}")

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
        if int(length) > self._server.app.settings.max_request_bytes:
            self.close_connection = True  # the unread body would be parsed as the next request
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large")
        return self.rfile.read(int(length))

    def _send_json(self, status: HTTPStatus, payload: Mapping[str, Any]) -> None:
        self._send(status, json.dumps(payload, allow_nan=False).encode(), "application/json")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s " + format, self.address_string(), *args)
