"""Who may call a model, how it is exposed, and how Istio routes, retries and protects it."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from components.catalog.base import DnsLabel, Duration, Host, StrictModel, UrlPath, VersionName
from components.catalog.patterns import Pattern, excerpt, matching

HEADER_NAME = Pattern(r"[a-z0-9][-a-z0-9_]*")
COOKIE_NAME = Pattern(r"[A-Za-z0-9_-]+")
MATCH_VALUE = Pattern(r"[A-Za-z0-9._-]+")

# Retrying is only safe where the request never reached the model (or was refused before work began):
# a retried inference after a timeout doubles GPU load exactly when the model is overloaded.
IDEMPOTENT_RETRY_ON = (
    "connect-failure",
    "refused-stream",
    "unavailable",
    "cancelled",
    "reset-before-request",
)


class Caller(StrictModel):
    """A workload allowed to call the model: a namespace, optionally narrowed to one service account."""

    namespace: DnsLabel
    service_account: DnsLabel | None = None


class Exposure(StrictModel):
    """Expose the model through the stack's Istio gateway under an external host."""

    host: Host | None = None
    """Defaults to `<model>.<istio.domain>` from the stack configuration."""
    path_prefix: UrlPath = "/"


class Retries(StrictModel):
    attempts: int = Field(default=2, ge=0, le=10)
    per_try_timeout: Duration = "30s"
    retry_on: tuple[
        Literal["connect-failure", "refused-stream", "unavailable", "cancelled", "reset-before-request"], ...
    ] = ("connect-failure", "refused-stream", "unavailable")
    """Only failure modes where the model did no work are allowed."""


class Mirror(StrictModel):
    """Shadow a share of live traffic to a version; its responses are discarded."""

    version: VersionName
    percent: float = Field(gt=0, le=100)


class ConnectionPool(StrictModel):
    max_connections: int = Field(default=1024, ge=1)
    http1_max_pending_requests: int = Field(default=256, ge=1)
    http2_max_requests: int = Field(default=1024, ge=1)
    max_requests_per_connection: int = Field(default=0, ge=0)
    """0 means unlimited (keep-alive connections are reused)."""


class OutlierDetection(StrictModel):
    consecutive5xx_errors: int = Field(default=5, ge=0, alias="consecutive5xxErrors")
    interval: Duration = "10s"
    base_ejection_time: Duration = "30s"
    max_ejection_percent: int = Field(default=50, ge=0, le=100)


class TrafficSpec(StrictModel):
    timeout: Duration = "60s"
    """Whole-request timeout at the sidecar; long enough for a full generation."""
    retries: Retries = Retries()
    mirror: Mirror | None = None
    connection_pool: ConnectionPool = ConnectionPool()
    outlier_detection: OutlierDetection = OutlierDetection()


class RouteMatch(StrictModel):
    """Pin requests to this version by header or cookie value (sticky A/B)."""

    header: (
        Annotated[str, matching(HEADER_NAME, lambda v: f"{excerpt(v)} is not a lower-case header name", 256)]
        | None
    ) = None
    """Header name, lower case (Istio matches lower-cased header names)."""
    cookie: (
        Annotated[str, matching(COOKIE_NAME, lambda v: f"{excerpt(v)} is not a cookie name", 256)] | None
    ) = None
    value: Annotated[
        str,
        matching(
            MATCH_VALUE,
            lambda v: f"{excerpt(v)} is not a match value — use letters, digits, '.', '_' and '-'",
            256,
        ),
    ]

    @model_validator(mode="after")
    def _one_key(self) -> Self:
        if (self.header is None) == (self.cookie is None):
            raise ValueError("a match needs exactly one of header or cookie")
        return self
