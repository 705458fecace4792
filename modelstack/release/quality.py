"""Model quality for the canary analysis: a labelled golden set run against each version's own endpoint.

`modelstack release evaluate` sends the golden set (a JSON file, format below) to every version of a model
through the KServe v2 / Triton inference route of the version's own Service (`<model>-<version>`), not
the model's weighted one, so each result belongs to exactly one version. The scores are exported as
Prometheus gauges on an HTTP `/metrics` endpoint that Prometheus scrapes (no Pushgateway):

  modelstack_golden_accuracy{namespace, model, version}         share of examples whose top class is the label
  modelstack_golden_confidence_mean{namespace, model, version}  mean softmax probability of the top class
  modelstack_golden_examples{namespace, model, version}          examples scored in the last round
  modelstack_golden_errors_total{namespace, model, version}      rounds that failed (unreachable, bad answer)
  modelstack_golden_last_success_timestamp_seconds{…}            when the last round succeeded

A version whose round fails keeps no accuracy series for that round (the gate reads "no data", never a
stale pass). The gate's `accuracy-drop` and `confidence-drift` checks read these series.

Golden set file: `{"model": NAME, "input": TENSOR, "classes": N, "examples": [{"input": [..], "label": k}]}`;
outputs are read as class scores (logits): softmax, then the top class.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from modelstack.release.gate import GOLDEN_ACCURACY_METRIC, GOLDEN_CONFIDENCE_METRIC

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
    def load(cls, path: Path) -> GoldenSet:
        where = str(path)
        if path.stat().st_size > MAX_GOLDEN_BYTES:
            raise GoldenSetError(f"{where}: larger than {MAX_GOLDEN_BYTES} bytes")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise GoldenSetError(f"{where}: not JSON: {err}") from None
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


def infer(base_url: str, model: str, golden: GoldenSet, *, timeout: float = 10.0) -> list[list[float]]:
    """The version's outputs for every golden input, in batches, through `/v2/models/<model>/infer`."""
    rows: list[list[float]] = []
    session = requests.Session()
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
        url = f"{base_url.rstrip('/')}/v2/models/{model}/infer"
        try:
            response = session.post(url, json=body, timeout=timeout)
        except requests.RequestException as err:
            raise EvaluationError(f"{url}: {type(err).__name__}") from None
        if response.status_code != 200:
            raise EvaluationError(f"{url}: HTTP {response.status_code} {response.text[:200]}")
        try:
            output = response.json()["outputs"][0]
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

    @classmethod
    def new(cls, namespace: str, model: str) -> Exporter:
        return cls(namespace, model, {}, {}, {}, threading.Lock())

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
    golden: GoldenSet, model: str, targets: Mapping[str, str], exporter: Exporter | None = None
) -> dict[str, Score | EvaluationError]:
    """Score every version once; each result is recorded in `exporter` when given."""
    results: dict[str, Score | EvaluationError] = {}
    for version, url in targets.items():
        try:
            result: Score | EvaluationError = score(golden, infer(url, model, golden))
        except EvaluationError as err:
            result = err
        results[version] = result
        if exporter is not None:
            exporter.record(version, result)
    return results


def serve_metrics(exporter: Exporter, host: str, port: int) -> ThreadingHTTPServer:
    """`/metrics` of `exporter` on host:port in a background thread (port 0: a free one)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/metrics":
                self.send_error(404)
                return
            body = exporter.render()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return server
