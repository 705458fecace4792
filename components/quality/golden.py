#!/usr/bin/env python3
"""Model quality for the canary analysis: a labelled golden set run against each version's own endpoint.

The evaluator sends the golden set (a JSON file, format below) to every version of a model through the
KServe v2 / Triton inference route of the version's own Service (`<model>-<version>`), not the model's
weighted one, so each result belongs to exactly one version. The scores are exported as Prometheus
gauges on an HTTP `/metrics` endpoint that Prometheus scrapes (no Pushgateway):

  modelstack_golden_accuracy{namespace, model, version}         share of examples whose top class is the label
  modelstack_golden_confidence_mean{namespace, model, version}  mean softmax probability of the top class
  modelstack_golden_examples{namespace, model, version}          examples scored in the last round
  modelstack_golden_errors_total{namespace, model, version}      rounds that failed (unreachable, bad answer)
  modelstack_golden_last_success_timestamp_seconds{…}            when the last round succeeded

A version whose round fails keeps no accuracy series for that round (the gate reads "no data", never a
stale pass). The gate's `accuracy-drop` and `confidence-drift` checks read these series.

Golden set file: `{"model": NAME, "input": TENSOR, "classes": N, "examples": [{"input": [..], "label": k}]}`;
outputs are read as class scores (logits): softmax, then the top class.

One program, two ways to run it: `modelstack release evaluate` imports it; the stack ships this file in
a ConfigMap and runs it in a plain Python image (components/quality/evaluator.py), so it imports the
standard library only (Python 3.10+):

  python golden.py --spec SPEC.json --listen HOST:PORT [--rounds N]

  SPEC.json: {"namespace": NS, "model": MODEL, "route": NAME, "golden": FILE (relative to the spec),
              "intervalSeconds": 30, "timeoutSeconds": 10, "targets": {VERSION: URL, ...}}

  GET /metrics  the series above;  GET /healthz  200 while rounds keep finishing (503 once one is overdue).
  Exit codes: 0 stopped after --rounds, 2 the spec or the golden set is unusable.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

GOLDEN_ACCURACY_METRIC = "modelstack_golden_accuracy"
GOLDEN_CONFIDENCE_METRIC = "modelstack_golden_confidence_mean"
EXAMPLES_METRIC = "modelstack_golden_examples"
ERRORS_METRIC = "modelstack_golden_errors_total"
LAST_SUCCESS_METRIC = "modelstack_golden_last_success_timestamp_seconds"
MAX_BATCH = 64
MAX_GOLDEN_BYTES = 16 << 20


class GoldenSetError(ValueError):
    """The golden-set file is not usable; the message names the file and the entry."""


class EvaluationError(RuntimeError):
    """A version could not be scored (unreachable, HTTP error, an answer of the wrong shape)."""


@dataclass(frozen=True)
class GoldenSet:
    model: str
    input_name: str
    classes: int
    inputs: tuple[tuple[float, ...], ...]
    labels: tuple[int, ...]

    @classmethod
    def load(cls, path: Path, shown: str | None = None) -> GoldenSet:
        """The golden set in `path`; errors name it as `shown` (default: the path itself)."""
        where = shown or str(path)
        try:
            if not path.is_file():
                raise GoldenSetError(f"{where}: no such file")
            if path.stat().st_size > MAX_GOLDEN_BYTES:
                raise GoldenSetError(f"{where}: larger than {MAX_GOLDEN_BYTES} bytes")
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as err:
            raise GoldenSetError(f"{where}: not UTF-8 text ({err.reason} at byte {err.start})") from None
        except OSError as err:
            raise GoldenSetError(f"{where}: cannot be read ({err.strerror})") from None
        return cls.parse(text, where)

    @classmethod
    def parse(cls, text: str, where: str) -> GoldenSet:
        """The golden set in `text`; errors start with `where`, then the line (bad JSON) or the entry."""
        try:
            data = json.loads(text)
        except ValueError as err:
            line = f"{err.lineno}:{err.colno}:" if isinstance(err, json.JSONDecodeError) else ""
            raise GoldenSetError(f"{where}:{line} not JSON: {getattr(err, 'msg', err)}") from None
        if not isinstance(data, dict):
            raise GoldenSetError(f"{where}: expected an object with model, input, classes and examples")
        classes, examples = data.get("classes"), data.get("examples")
        if not isinstance(classes, int) or classes < 2:
            raise GoldenSetError(f"{where}: classes must be an integer of at least 2")
        if not isinstance(examples, list) or not examples:
            raise GoldenSetError(f"{where}: examples must be a non-empty list")
        inputs, labels = [], []
        width = None
        for i, example in enumerate(examples):
            vector = example.get("input") if isinstance(example, dict) else None
            label = example.get("label") if isinstance(example, dict) else None
            valid = isinstance(vector, list) and all(
                isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in vector
            )
            if not valid or not vector:
                raise GoldenSetError(
                    f"{where}: examples[{i}].input must be a non-empty list of finite numbers"
                )
            if width is not None and len(vector) != width:
                raise GoldenSetError(
                    f"{where}: examples[{i}].input has {len(vector)} values, the first has {width}"
                )
            if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label < classes:
                raise GoldenSetError(f"{where}: examples[{i}].label must be a class index 0..{classes - 1}")
            width = len(vector)
            inputs.append(tuple(float(x) for x in vector))
            labels.append(label)
        return cls(
            model=str(data.get("model", "")),
            input_name=str(data.get("input", "input")),
            classes=classes,
            inputs=tuple(inputs),
            labels=tuple(labels),
        )


@dataclass(frozen=True)
class Score:
    accuracy: float
    confidence: float
    examples: int


def softmax_top(scores: Sequence[float]) -> tuple[int, float]:
    """(top class, its softmax probability), computed stably."""
    peak = max(scores)
    exps = [math.exp(s - peak) for s in scores]
    top = max(range(len(scores)), key=lambda i: scores[i])
    return top, exps[top] / sum(exps)


def score(golden: GoldenSet, outputs: Sequence[Sequence[float]]) -> Score:
    if len(outputs) != len(golden.labels):
        raise EvaluationError(f"{len(outputs)} outputs for {len(golden.labels)} examples")
    correct, confidence = 0, 0.0
    for row, label in zip(outputs, golden.labels, strict=True):
        top, probability = softmax_top(row)
        correct += top == label
        confidence += probability
    n = len(golden.labels)
    return Score(correct / n, confidence / n, n)


def _post_json(url: str, body: Any, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:  # a non-2xx answer is still an answer
        return err.code, err.read()


def infer(base_url: str, model: str, golden: GoldenSet, *, timeout: float = 10.0) -> list[list[float]]:
    """The version's outputs for every golden input, in batches, through `/v2/models/<model>/infer`."""
    rows: list[list[float]] = []
    url = f"{base_url.rstrip('/')}/v2/models/{model}/infer"
    for start in range(0, len(golden.inputs), MAX_BATCH):
        batch = golden.inputs[start : start + MAX_BATCH]
        body = {
            "inputs": [
                {
                    "name": golden.input_name,
                    "shape": [len(batch), len(batch[0])],
                    "datatype": "FP32",
                    "data": [x for row in batch for x in row],
                }
            ]
        }
        try:
            status, payload = _post_json(url, body, timeout)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            reason = getattr(err, "reason", None) or err
            raise EvaluationError(f"{url}: {type(err).__name__}: {reason}") from None
        if status != 200:
            snippet = payload[:200].decode("utf-8", "replace")
            raise EvaluationError(f"{url}: HTTP {status} {snippet}")
        try:
            output = json.loads(payload)["outputs"][0]
            width = int(output["shape"][1])
            data = [float(x) for x in output["data"]]
        except (ValueError, KeyError, IndexError, TypeError):
            raise EvaluationError(f"{url}: the answer is not a KServe v2 output tensor") from None
        if width < 2 or len(data) != width * len(batch):
            raise EvaluationError(f"{url}: output shape does not match {len(batch)} examples")
        rows += [data[i : i + width] for i in range(0, len(data), width)]
    return rows


# --- exporting --------------------------------------------------------------------------------------


@dataclass
class Exporter:
    """The gauges of the last round per version, rendered in the Prometheus text format."""

    namespace: str
    model: str
    _scores: dict[str, Score]
    _errors: dict[str, int]
    _last_success: dict[str, float]
    _lock: threading.Lock
    _round_finished: float = field(default_factory=time.monotonic)
    """When the last round finished (at start: when the exporter was made), for /healthz."""

    @classmethod
    def new(cls, namespace: str, model: str) -> Exporter:
        return cls(namespace, model, {}, {}, {}, threading.Lock())

    def round_finished(self) -> None:
        with self._lock:
            self._round_finished = time.monotonic()

    def overdue(self, stall_seconds: float) -> bool:
        """No round finished for `stall_seconds`: the loop is stuck and the pod should be restarted."""
        with self._lock:
            return time.monotonic() - self._round_finished > stall_seconds

    def record(self, version: str, result: Score | EvaluationError) -> None:
        with self._lock:
            self._errors.setdefault(version, 0)
            if isinstance(result, Score):
                self._scores[version] = result
                self._last_success[version] = time.time()
            else:
                self._scores.pop(version, None)  # no stale accuracy: the gate must see "no data"
                self._errors[version] += 1

    def render(self) -> bytes:
        with self._lock:
            scores, errors, last = dict(self._scores), dict(self._errors), dict(self._last_success)
        lines: list[str] = []

        def family(name: str, kind: str, help_: str, values: Mapping[str, float]) -> None:
            lines.extend([f"# HELP {name} {help_}", f"# TYPE {name} {kind}"])
            for version, value in sorted(values.items()):
                labels = f'namespace="{self.namespace}",model="{self.model}",version="{version}"'
                lines.append(f"{name}{{{labels}}} {value!r}")

        family(
            GOLDEN_ACCURACY_METRIC,
            "gauge",
            "Golden-set accuracy of the version (0-1)",
            {v: s.accuracy for v, s in scores.items()},
        )
        family(
            GOLDEN_CONFIDENCE_METRIC,
            "gauge",
            "Mean top-class softmax probability on the golden set",
            {v: s.confidence for v, s in scores.items()},
        )
        family(
            EXAMPLES_METRIC,
            "gauge",
            "Golden examples scored in the last round",
            {v: float(s.examples) for v, s in scores.items()},
        )
        family(
            ERRORS_METRIC,
            "counter",
            "Golden-set rounds that failed",
            {v: float(n) for v, n in errors.items()},
        )
        family(LAST_SUCCESS_METRIC, "gauge", "Unix time of the last successful round", last)
        return ("\n".join(lines) + "\n").encode()


def evaluate_round(
    golden: GoldenSet,
    model: str,
    targets: Mapping[str, str],
    exporter: Exporter | None = None,
    *,
    timeout: float = 10.0,
) -> dict[str, Score | EvaluationError]:
    """Score every version once; each result is recorded in `exporter` when given."""
    results: dict[str, Score | EvaluationError] = {}
    for version, url in targets.items():
        try:
            result: Score | EvaluationError = score(golden, infer(url, model, golden, timeout=timeout))
        except EvaluationError as err:
            result = err
        results[version] = result
        if exporter is not None:
            exporter.record(version, result)
    if exporter is not None:
        exporter.round_finished()
    return results


def round_seconds(golden: GoldenSet, targets: int, timeout: float) -> float:
    """The longest one round can take: every batch of every version times out."""
    batches = math.ceil(len(golden.inputs) / MAX_BATCH)
    return targets * batches * timeout


def serve_metrics(
    exporter: Exporter, host: str, port: int, stall_seconds: float | None = None
) -> ThreadingHTTPServer:
    """`/metrics` (and `/healthz`, failing once no round finished for `stall_seconds`) of `exporter` on
    host:port in a background thread (port 0: a free one)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, exporter.render(), "text/plain; version=0.0.4; charset=utf-8")
            elif path == "/healthz":
                stuck = stall_seconds is not None and exporter.overdue(stall_seconds)
                self._answer(503 if stuck else 200, b"stuck\n" if stuck else b"ok\n", "text/plain")
            else:
                self.send_error(404)

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return server


def run_rounds(
    golden: GoldenSet,
    model: str,
    targets: Mapping[str, str],
    exporter: Exporter,
    *,
    interval: float,
    rounds: int = 0,
    timeout: float = 10.0,
    log: Any = None,
) -> None:
    """A round every `interval` seconds (from the start of one to the next) until `rounds` (0: forever)."""
    done = 0
    while rounds == 0 or done < rounds:
        started = time.monotonic()
        for version, result in evaluate_round(golden, model, targets, exporter, timeout=timeout).items():
            print(f"{version}: {result}", file=log or sys.stderr, flush=True)
        done += 1
        if rounds == 0 or done < rounds:
            time.sleep(max(0.0, interval - (time.monotonic() - started)))


# --- the in-cluster program -----------------------------------------------------------------------------


class SpecError(ValueError):
    """The evaluator's spec is unusable; nothing was evaluated."""


@dataclass(frozen=True)
class EvaluatorSpec:
    namespace: str
    model: str
    route: str
    golden: Path
    interval: float
    timeout: float
    targets: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> EvaluatorSpec:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise SpecError(f"{path}: cannot read the spec: {err}") from None
        if not isinstance(data, dict):
            raise SpecError(f"{path}: the spec must be an object")
        strings = {k: data.get(k) for k in ("namespace", "model", "route", "golden")}
        missing = [k for k, v in strings.items() if not isinstance(v, str) or not v]
        targets = data.get("targets")
        if (
            not isinstance(targets, dict)
            or not targets
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in targets.items())
        ):
            missing.append("targets")
        numbers = {k: data.get(k, d) for k, d in (("intervalSeconds", 30), ("timeoutSeconds", 10))}
        missing += [
            k for k, v in numbers.items() if not isinstance(v, int | float) or isinstance(v, bool) or v <= 0
        ]
        if missing:
            raise SpecError(f"{path}: missing or invalid {', '.join(missing)}")
        assert isinstance(targets, dict)
        return cls(
            namespace=str(strings["namespace"]),
            model=str(strings["model"]),
            route=str(strings["route"]),
            golden=path.parent / str(strings["golden"]),
            interval=float(numbers["intervalSeconds"]),
            timeout=float(numbers["timeoutSeconds"]),
            targets=dict(targets),
        )


def parse_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{value!r} is not HOST:PORT")
    return host or "0.0.0.0", int(port)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Golden-set evaluator: scores every version, serves /metrics."
    )
    parser.add_argument("--spec", required=True, type=Path, help="the evaluator's spec (JSON)")
    parser.add_argument(
        "--listen", required=True, metavar="HOST:PORT", help="serve /metrics and /healthz here"
    )
    parser.add_argument("--rounds", type=int, default=0, help="stop after this many rounds (0: never)")
    args = parser.parse_args(argv)
    try:
        host, port = parse_listen(args.listen)
        spec = EvaluatorSpec.load(args.spec)
        golden = GoldenSet.load(spec.golden)
    except (ValueError, GoldenSetError) as err:
        print(f"golden-set evaluator: {err}", file=sys.stderr)
        return 2
    exporter = Exporter.new(spec.namespace, spec.model)
    # Live while rounds keep finishing: a round is at most every request timing out, then the interval.
    stall = 2 * (spec.interval + round_seconds(golden, len(spec.targets), spec.timeout))
    server = serve_metrics(exporter, host, port, stall_seconds=stall)
    print(f"serving /metrics on {host}:{server.server_address[1]}", file=sys.stderr, flush=True)
    try:
        run_rounds(
            golden,
            spec.route,
            spec.targets,
            exporter,
            interval=spec.interval,
            rounds=args.rounds,
            timeout=spec.timeout,
        )
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
