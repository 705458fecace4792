"""Test doubles of the loop's injected parts: a Prometheus answering fixed values, recording appliers,
and a loopback webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from components.validation.loader import load_stack_and_catalog
from modelstack.release.apply import ApplyError
from modelstack.release.gate import Sample
from modelstack.release.loop import Loop
from modelstack.release.notify import Notifier


@dataclass
class FixedPrometheus:
    """Answers the gate's built-in queries with one value each (None: an empty result)."""

    requests: float | None = 1000.0
    p99_ms: float | None = 120.0
    error_percent: float | None = 0.0
    queries: list[str] = field(default_factory=list)

    def query(self, promql: str, at: datetime | None = None) -> list[Sample]:
        self.queries.append(promql)
        if "histogram_quantile" in promql:
            value = self.p99_ms
        elif promql.startswith("100 * ("):
            value = self.error_percent
        else:
            value = self.requests
        return [] if value is None else [Sample({}, value)]


@dataclass
class RecordingApply:
    """Succeeds, or fails the first `failures` calls; remembers the catalog each call saw."""

    failures: int = 0
    seen: list[str] = field(default_factory=list)

    def apply(self, root: Path, stack: str) -> str:
        self.seen.append((root / "models.yaml").read_text(encoding="utf-8"))
        if len(self.seen) <= self.failures:
            raise ApplyError("pulumi up failed: error: update failed (the test's injected failure)")
        return f"applied call {len(self.seen)}"


def loop_for(
    root: Path, prometheus: Any, applier: Any, now: datetime, notifier: Notifier | None = None
) -> Loop:
    config, loaded = load_stack_and_catalog(root, "dev")
    return Loop(
        root=root,
        stack="dev",
        config=config,
        catalog=root / config.catalog,
        models=loaded.catalog.models,
        prometheus=prometheus,
        applier=applier,
        notifier=notifier,
        clock=lambda: now,
        date_commits=True,
    )


@dataclass
class Receiver:
    url: str
    bodies: list[dict[str, Any]]
    statuses: list[int]
    """The status of each answer in turn; the last one repeats."""


@contextmanager
def webhook_receiver(*statuses: int, delay_s: float = 0.0) -> Iterator[Receiver]:
    bodies: list[dict[str, Any]] = []
    answers = list(statuses) or [200]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            bodies.append(json.loads(self.rfile.read(length)))
            if delay_s:
                threading.Event().wait(delay_s)
            status = answers[min(len(bodies), len(answers)) - 1]
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", bodies, answers)
    finally:
        server.shutdown()
        server.server_close()
