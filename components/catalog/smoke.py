"""A version's `smokeTest:` block: golden requests the in-cluster checker sends before traffic moves.

`to_checker_spec` turns it into the JSON that `modelstack/release/smoke_check.py` (stdlib only) reads.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, Field, model_validator

from components.catalog.base import DnsLabel, StrictModel, UrlPath
from components.catalog.patterns import Pattern, excerpt

# Dotted path into the response JSON: object keys, or list indexes as digits ("outputs.0.data").
POINTER = Pattern(r"[^.\s\x00-\x1f\x7f]+(?:\.[^.\s\x00-\x1f\x7f]+)*")


def _pointer(value: str) -> str:
    if len(value) > 1024 or not POINTER.matches(value):
        raise ValueError(
            f"{excerpt(value)} is not a response path — write dotted keys and list indexes, e.g. 'outputs.0.data'"
        )
    return value


def _expected(value: Any) -> Any:
    # Golden values are numbers (compared with tolerance), strings or booleans (compared exactly), or
    # nested lists of those; a NaN golden value could never be matched.
    if isinstance(value, list):
        for item in value:
            _expected(item)
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("an expected value must be finite")
    if value is None or not isinstance(value, int | float | str | bool):
        raise ValueError(
            f"expected value {value!r} is not a number, string, boolean or a (nested) list of them"
        )
    return value


Pointer = Annotated[str, AfterValidator(_pointer)]
Expected = Annotated[Any, AfterValidator(_expected)]


class Tolerance(StrictModel):
    """A number passes when |actual − expected| ≤ abs + rel·|expected| (numpy.isclose's rule and defaults)."""

    abs: float = Field(default=1e-8, ge=0)
    """Absolute tolerance."""
    rel: float = Field(default=1e-5, ge=0)
    """Relative tolerance, a fraction of the expected value."""


class GoldenRequest(StrictModel):
    """One request with known-good outputs."""

    name: DnsLabel
    """Shown in the checker's report."""
    method: Literal["GET", "POST", "PUT"] = "POST"
    """HTTP method."""
    path: UrlPath
    """Path on the version's endpoint, e.g. '/v2/models/resnet/infer'."""
    body: Any = None
    """JSON request body (none for GET)."""
    expect: dict[Pointer, Expected] = Field(default_factory=dict)
    """Response path → golden value, e.g. {'outputs.0.data': [0.1, 0.9]}. Every number in the response
    must be finite whether listed here or not."""
    tolerance: Tolerance = Tolerance()
    """How close numbers must be to the golden values."""


class SmokeTest(StrictModel):
    """Golden requests run by a Job against the new version before it receives traffic."""

    requests: tuple[GoldenRequest, ...] = Field(min_length=1)
    """At least one golden request; names are unique."""
    timeout_seconds: float = Field(default=30, gt=0, le=600)
    """Timeout of one HTTP request (a first inference on a cold GPU can be slow)."""
    retries: int = Field(default=10, ge=0, le=100)
    """Extra attempts while the endpoint is unreachable or answers 502/503/504 (still loading)."""
    backoff_seconds: float = Field(default=2, gt=0, le=60)
    """Wait before the first retry; doubles on each retry, capped at 30 s."""

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [r.name for r in self.requests]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"smoke-test request names must be unique: {', '.join(duplicates)} repeated")
        return self


def to_checker_spec(smoke: SmokeTest, endpoint: str) -> dict[str, Any]:
    """The JSON document `modelstack/release/smoke_check.py` reads, for a version served at `endpoint`."""
    return {
        "endpoint": endpoint.rstrip("/"),
        "timeoutSeconds": smoke.timeout_seconds,
        "retries": smoke.retries,
        "backoffSeconds": smoke.backoff_seconds,
        "requests": [
            {
                "name": r.name,
                "method": r.method,
                "path": r.path,
                "body": r.body,
                "expect": dict(r.expect),
                "tolerance": {"abs": r.tolerance.abs, "rel": r.tolerance.rel},
            }
            for r in smoke.requests
        ],
    }
