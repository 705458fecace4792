"""The mesh in front of the example servers: a sidecar per workload with Istio's standard metrics.

In a cluster the canary analysis reads what each pod's Envoy sidecar reports (`istio_requests_total`,
`istio_request_duration_milliseconds`, reporter="destination", labelled with the destination workload,
namespace, app and version). Here each workload gets a forwarding proxy
on 127.0.0.1 that measures every request it forwards to its real server process the same way, and one
`/metrics` endpoint serves them all for Prometheus to scrape.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

# Millisecond buckets from 0.5 ms to 10 min, the range Istio's request-duration histogram covers.
ISTIO_BUCKETS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000)
LABELS = (
    "reporter",
    "destination_workload",
    "destination_workload_namespace",
    "destination_app",
    "destination_version",
    "response_code",
)


def _serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


@dataclass
class Mesh:
    namespace: str
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    servers: list[ThreadingHTTPServer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.requests = Counter("istio_requests", "Requests", LABELS, registry=self.registry)
        self.duration = Histogram(
            "istio_request_duration_milliseconds",
            "Duration",
            LABELS,
            buckets=ISTIO_BUCKETS,
            registry=self.registry,
        )

    def sidecar(self, app: str, version: str, backend: str) -> str:
        """A proxy for workload `<app>-<version>` forwarding to `backend`; returns its base URL."""
        mesh = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                started = time.perf_counter()
                try:
                    answer = requests.post(
                        backend + self.path,
                        data=body,
                        headers={"Content-Type": "application/json"},
                        timeout=30,
                    )
                    status, content = answer.status_code, answer.content
                except requests.RequestException:
                    status, content = 503, b'{"error": "upstream connect error"}'
                elapsed_ms = (time.perf_counter() - started) * 1000
                labels = {
                    "reporter": "destination",
                    "destination_workload": f"{app}-{version}",
                    "destination_workload_namespace": mesh.namespace,
                    "destination_app": app,
                    "destination_version": version,
                    "response_code": str(status),
                }
                mesh.requests.labels(**labels).inc()
                mesh.duration.labels(**labels).observe(elapsed_ms)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = _serve(Handler)
        self.servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    def metrics_endpoint(self) -> str:
        registry = self.registry

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = generate_latest(registry)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = _serve(Handler)
        self.servers.append(server)
        return f"127.0.0.1:{server.server_address[1]}"

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


@contextmanager
def traffic(
    urls: dict[str, str], payload: dict[str, Any], *, clients: int = 2, pause_s: float = 0.05
) -> Iterator[None]:
    """Clients posting `payload` to each URL's infer route until the block ends."""
    stop = threading.Event()

    def client(url: str) -> None:
        session = requests.Session()
        while not stop.is_set():
            with suppress(requests.RequestException):
                session.post(url, json=payload, timeout=30)
            stop.wait(pause_s)

    threads = [
        threading.Thread(target=client, args=(url,), daemon=True)
        for url in urls.values()
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=40)
