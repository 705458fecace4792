#!/usr/bin/env python3
"""Smoke-test checker: send golden requests to a model version and compare its outputs.

Runs inside the cluster as a Kubernetes Job from a plain python image, shipped as a ConfigMap, so it
uses the standard library only (no third-party imports, Python 3.10+).

Usage: python smoke_check.py [SPEC_FILE]
  The spec is JSON (see `components.catalog.smoke.to_checker_spec`): read from SPEC_FILE, else from the
  environment variable SMOKE_SPEC (the JSON itself), else from the file named by SMOKE_SPEC_FILE.

  {"endpoint": "http://resnet-v2.models.svc:8080", "timeoutSeconds": 30, "retries": 10,
   "backoffSeconds": 2,
   "requests": [{"name": "cat", "method": "POST", "path": "/v2/models/resnet/infer", "body": {...},
                 "expect": {"outputs.0.data": [0.1, 0.9]}, "tolerance": {"abs": 1e-8, "rel": 1e-5}}]}

A request fails when the endpoint stays unreachable (or answers 502/503/504, i.e. still loading) through
all retries, answers another non-2xx status, returns anything but JSON, returns a non-finite number
anywhere (NaN/Infinity literals, or the strings "NaN"/"Infinity"/"-Infinity"), or an expected output is
missing, differs in shape, or is out of tolerance: |actual - expected| <= abs + rel * |expected|.

Exit codes: 0 every request passed (one summary line), 1 a request failed (one FAIL line per problem),
2 the spec itself is unusable.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_SPEC = 2

# Statuses of a server (or sidecar) that is up but not ready yet: worth waiting for.
RETRY_STATUSES = frozenset({502, 503, 504})
MAX_BACKOFF_SECONDS = 30.0
# How JSON encoders that cannot write NaN (protobuf JSON, JavaScript) spell non-finite floats.
NON_FINITE_STRINGS = frozenset({"NaN", "Infinity", "-Infinity", "+Infinity"})
MAX_EXAMPLES = 3


class SpecError(Exception):
    """The spec cannot be used; nothing was checked."""


class UnreachableError(Exception):
    """No usable answer after every retry."""


# --- spec -------------------------------------------------------------------------------------------------


def load_spec(argv: list[str], environ: dict[str, str]) -> dict[str, Any]:
    try:
        if len(argv) > 1:
            with open(argv[1], encoding="utf-8") as f:
                text = f.read()
        elif environ.get("SMOKE_SPEC"):
            text = environ["SMOKE_SPEC"]
        elif environ.get("SMOKE_SPEC_FILE"):
            with open(environ["SMOKE_SPEC_FILE"], encoding="utf-8") as f:
                text = f.read()
        else:
            raise SpecError("no spec: pass a file path, or set SMOKE_SPEC or SMOKE_SPEC_FILE")
        spec = json.loads(text)
    except (OSError, ValueError) as err:
        raise SpecError(f"cannot read the spec: {err}") from err
    if not isinstance(spec, dict) or not isinstance(spec.get("endpoint"), str):
        raise SpecError("the spec needs an 'endpoint' URL")
    requests = spec.get("requests")
    if not isinstance(requests, list) or not requests or not all(isinstance(r, dict) for r in requests):
        raise SpecError("the spec needs a non-empty 'requests' list")
    for r in requests:
        if not isinstance(r.get("name"), str) or not isinstance(r.get("path"), str):
            raise SpecError(f"every request needs a 'name' and a 'path': {r!r}")
    return spec


# --- HTTP -------------------------------------------------------------------------------------------------


def _send(url: str, method: str, body: Any, timeout: float) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:  # a non-2xx answer is still an answer
        return err.code, err.read()


def fetch(
    url: str, method: str, body: Any, *, timeout: float, retries: int, backoff: float
) -> tuple[int, bytes]:
    """Send with bounded retries and exponential backoff while the server is unreachable or loading."""
    attempts = retries + 1
    delay = backoff
    last = ""
    for attempt in range(1, attempts + 1):
        try:
            status, payload = _send(url, method, body, timeout)
            if status not in RETRY_STATUSES:
                return status, payload
            last = f"HTTP {status}"
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            last = str(getattr(err, "reason", err)) or type(err).__name__
        if attempt < attempts:
            time.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
    raise UnreachableError(f"no answer after {attempts} attempt(s) (last: {last})")


# --- JSON checks ------------------------------------------------------------------------------------------


def parse_json(payload: bytes) -> Any:
    # parse_constant turns the NaN/Infinity literals Python's json accepts into floats we can flag.
    return json.loads(payload.decode("utf-8"), parse_constant=float)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _non_finite(value: Any) -> bool:
    return (isinstance(value, float) and not math.isfinite(value)) or (
        isinstance(value, str) and value in NON_FINITE_STRINGS
    )


def non_finite_paths(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """(path, value) of every non-finite number in a JSON document."""
    items: list[tuple[Any, Any]]
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return [(path or "(response)", value)] if _non_finite(value) else []
    found: list[tuple[str, Any]] = []
    for key, item in items:
        found += non_finite_paths(item, f"{path}.{key}" if path else str(key))
    return found


def resolve(document: Any, pointer: str) -> Any:
    """Follow 'outputs.0.data' through objects and lists; KeyError names the missing part."""
    current = document
    for part in pointer.split("."):
        if isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            raise KeyError(part)
    return current


def _close(actual: float, expected: float, tol_abs: float, tol_rel: float) -> bool:
    return abs(actual - expected) <= tol_abs + tol_rel * abs(expected)


class Diff:
    """One place where an output differs from its golden value."""

    def __init__(self, where: str, problem: str, *, non_finite: bool = False) -> None:
        self.where, self.problem, self.non_finite = where or "value", problem, non_finite

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


def compare(actual: Any, expected: Any, tol_abs: float, tol_rel: float, where: str = "") -> list[Diff]:
    """Every place where `actual` differs from `expected`, with list positions like '[0][2]'."""
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [Diff(where, f"expected a list of {len(expected)}, got {_show(actual)}")]
        if len(actual) != len(expected):
            return [Diff(where, f"expected {len(expected)} values, got {len(actual)}")]
        out: list[Diff] = []
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            out += compare(a, e, tol_abs, tol_rel, f"{where}[{i}]")
        return out
    if _is_number(expected):
        number = _as_number(actual)
        if number is None:
            return [Diff(where, f"expected {expected}, got {_show(actual)}")]
        if not math.isfinite(number):
            return [Diff(where, f"{_show(actual)} is not finite", non_finite=True)]
        if not _close(number, float(expected), tol_abs, tol_rel):
            off = abs(number - expected)
            return [Diff(where, f"{_show(actual)} vs expected {expected} (off by {off:.3g})")]
        return []
    if actual != expected or type(actual) is not type(expected):
        return [Diff(where, f"expected {_show(expected)}, got {_show(actual)}")]
    return []


def _as_number(value: Any) -> float | None:
    # Numbers sent as strings ("0.5", "NaN", "inf") still count as numbers, so NaN cannot hide in a string.
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _examples(diffs: list[Diff]) -> str:
    shown = "; ".join(str(d) for d in diffs[:MAX_EXAMPLES])
    return shown + (f"; and {len(diffs) - MAX_EXAMPLES} more" if len(diffs) > MAX_EXAMPLES else "")


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- one golden request -----------------------------------------------------------------------------------


def check_request(spec: dict[str, Any], request: dict[str, Any]) -> list[str]:
    """Failure lines for one golden request (empty when it passed)."""
    name = request["name"]
    url = spec["endpoint"].rstrip("/") + request["path"]
    method = str(request.get("method") or ("POST" if request.get("body") is not None else "GET")).upper()
    try:
        status, payload = fetch(
            url,
            method,
            request.get("body"),
            timeout=float(spec.get("timeoutSeconds", 30)),
            retries=int(spec.get("retries", 10)),
            backoff=float(spec.get("backoffSeconds", 2)),
        )
    except UnreachableError as err:
        return [f"FAIL {name}: {method} {url} unreachable — {err}"]
    if not 200 <= status < 300:
        snippet = payload[:200].decode("utf-8", "replace").strip()
        return [f"FAIL {name}: {method} {url} answered HTTP {status}: {snippet}"]
    try:
        document = parse_json(payload)
    except ValueError as err:
        return [f"FAIL {name}: response is not JSON ({err})"]
    expectations = request.get("expect") or {}
    tolerance = request.get("tolerance") or {}
    tol_abs, tol_rel = float(tolerance.get("abs", 1e-8)), float(tolerance.get("rel", 1e-5))
    # Non-finite values outside the expected outputs; those inside are reported with their output.
    failures = [
        f"FAIL {name}: {path} is {_show(value)} (non-finite)"
        for path, value in non_finite_paths(document)
        if not any(path == p or path.startswith(p + ".") for p in expectations)
    ]
    for pointer, expected in expectations.items():
        try:
            actual = resolve(document, pointer)
        except KeyError as err:
            failures.append(f"FAIL {name}: {pointer} missing from the response (no {err})")
            continue
        diffs = compare(actual, expected, tol_abs, tol_rel)
        non_finite = [d for d in diffs if d.non_finite]
        if non_finite:
            failures.append(f"FAIL {name}: {pointer} has non-finite values: {_examples(non_finite)}")
        wrong = [d for d in diffs if not d.non_finite]
        if wrong:
            failures.append(
                f"FAIL {name}: {pointer} out of tolerance (abs {tol_abs:g}, rel {tol_rel:g}): {_examples(wrong)}"
            )
    return failures


def run(spec: dict[str, Any], out: Any = None) -> int:
    out = out or sys.stdout
    failures: list[str] = []
    failed = 0
    for request in spec["requests"]:
        found = check_request(spec, request)
        failures += found
        failed += 1 if found else 0
    total = len(spec["requests"])
    for line in failures:
        print(line, file=out)
    if failures:
        print(f"smoke test FAILED: {failed} of {total} request(s) against {spec['endpoint']}", file=out)
        return EXIT_FAILED
    print(f"smoke test passed: {total} request(s) against {spec['endpoint']}", file=out)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    try:
        spec = load_spec(sys.argv if argv is None else argv, dict(os.environ))
    except SpecError as err:
        print(f"smoke test spec error: {err}", file=sys.stdout)
        return EXIT_BAD_SPEC
    return run(spec)


if __name__ == "__main__":
    sys.exit(main())
