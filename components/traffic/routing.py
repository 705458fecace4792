"""Routing manifests of one model: its Service, VirtualService (matches, weights, mirror) and DestinationRules.

The model's DestinationRule carries the traffic policy and no subsets; each version's subset is a
DestinationRule of its own (`<model>-<version>`, same host), which istiod merges into the model's. A subset
is thereby an object of its version: Pulumi creates it before the routes that name it and deletes it only
after they stopped naming it (docs/traffic-and-releases.md#adding-and-retiring-subsets).

Pure functions from validated catalog objects to camelCase dicts; `TrafficPolicy` registers them.
"""

from __future__ import annotations

from typing import Any

from components.catalog.model import ModelSpec
from components.catalog.stack_config import StackConfig
from components.catalog.traffic import RouteMatch, TrafficSpec
from components.naming import model_labels, version_labels, version_object_name
from components.traffic.names import MESH_GATEWAY, external_host, mesh_host, model_service_name

ISTIO_NETWORKING = "networking.istio.io/v1"


def model_service_manifest(model: str, spec: ModelSpec, namespace: str) -> dict[str, Any]:
    """The Service over every version (`app: <model>`); Istio resolves the VirtualService host to it."""
    port = spec.server_preset.port
    return {
        "metadata": {
            "name": model_service_name(model),
            "namespace": namespace,
            "labels": model_labels(model),
        },
        "spec": {
            "selector": {"app": model},
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def cookie_regex(name: str, value: str) -> str:
    """A pattern for the whole Cookie header (Envoy's `safe_regex` is RE2 matched against the entire value,
    not searched in it): any cookies, then `name=value` at the start or after `;` and optional spaces,
    then `;` and anything or the end — so `xname=value` and `name=valuex` never match."""
    # Names are [A-Za-z0-9_-] and values [A-Za-z0-9._-] (the schema): only `.` is special to RE2.
    escaped = value.replace(".", "\\.")
    return rf"^(.*?;\s*)?{name}={escaped}(;.*)?$"


def match_request(match: RouteMatch) -> dict[str, Any]:
    """One Istio HTTPMatchRequest: an exact header value, or a cookie by regex over the Cookie header."""
    if match.header is not None:
        return {"headers": {match.header: {"exact": match.value}}}
    assert match.cookie is not None  # RouteMatch guarantees exactly one of header or cookie
    return {"headers": {"cookie": {"regex": cookie_regex(match.cookie, match.value)}}}


def _destination(host: str, version: str, weight: int | None = None) -> dict[str, Any]:
    destination: dict[str, Any] = {"destination": {"host": host, "subset": version}}
    if weight is not None:
        destination["weight"] = weight
    return destination


def _route_policy(traffic: TrafficSpec) -> dict[str, Any]:
    """Timeout and retries shared by every route of the model."""
    retries = traffic.retries
    policy: dict[str, Any] = {"timeout": traffic.timeout, "retries": {"attempts": retries.attempts}}
    if retries.attempts > 0:
        policy["retries"]["perTryTimeout"] = retries.per_try_timeout
        policy["retries"]["retryOn"] = ",".join(retries.retry_on)
    return policy


def _scope(matches: list[dict[str, Any]], gateway: str | None, path_prefix: str) -> list[dict[str, Any]]:
    """Restrict gateway traffic to the exposed path prefix; mesh callers keep every path."""
    if gateway is None or path_prefix == "/":
        return matches
    scoped = []
    for match in matches or [{}]:
        scoped.append({**match, "gateways": [MESH_GATEWAY]})
        scoped.append({**match, "gateways": [gateway], "uri": {"prefix": path_prefix}})
    return scoped


def http_routes(model: str, spec: ModelSpec, namespace: str, gateway: str | None) -> list[dict[str, Any]]:
    """Pinned (match) routes first — Istio takes the first route that matches — then the weighted split."""
    host = mesh_host(model, namespace)
    policy = _route_policy(spec.traffic)
    prefix = spec.expose.path_prefix if spec.expose else "/"
    routes: list[dict[str, Any]] = []
    for version, version_spec in spec.versions.items():
        if version_spec.match:
            matches = _scope([match_request(m) for m in version_spec.match], gateway, prefix)
            routes.append(
                {"name": f"pin-{version}", "match": matches, "route": [_destination(host, version)], **policy}
            )
    # A version at weight 0 gets no destination at all (a total of 0 is rejected by istiod anyway).
    weighted = [_destination(host, v, s.weight) for v, s in spec.versions.items() if s.weight > 0]
    split: dict[str, Any] = {"name": "weighted", "route": weighted, **policy}
    if scoped := _scope([], gateway, prefix):
        split["match"] = scoped
    mirror = spec.traffic.mirror
    if mirror is not None:
        split["mirror"] = {"host": host, "subset": mirror.version}
        split["mirrorPercentage"] = {"value": mirror.percent}
    routes.append(split)
    return routes


def virtual_service_manifest(model: str, spec: ModelSpec, stack: StackConfig) -> dict[str, Any]:
    namespace = stack.namespace
    exposed = external_host(model, spec, stack)
    gateway = stack.istio.gateway if exposed else None
    body: dict[str, Any] = {"hosts": [mesh_host(model, namespace)]}
    if exposed is not None:
        body["hosts"].append(exposed)
        body["gateways"] = [stack.istio.gateway, MESH_GATEWAY]
    body["http"] = http_routes(model, spec, namespace, gateway)
    return {
        "metadata": {
            "name": model_service_name(model),
            "namespace": namespace,
            "labels": model_labels(model),
        },
        "spec": body,
    }


def _connection_pool(traffic: TrafficSpec) -> dict[str, Any]:
    pool = traffic.connection_pool
    http: dict[str, Any] = {
        "http1MaxPendingRequests": pool.http1_max_pending_requests,
        "http2MaxRequests": pool.http2_max_requests,
    }
    if pool.max_requests_per_connection:  # 0 (the proto default) means unlimited
        http["maxRequestsPerConnection"] = pool.max_requests_per_connection
    return {"tcp": {"maxConnections": pool.max_connections}, "http": http}


def _outlier_detection(traffic: TrafficSpec) -> dict[str, Any]:
    outliers = traffic.outlier_detection
    return {
        "consecutive5xxErrors": outliers.consecutive5xx_errors,
        "interval": outliers.interval,
        "baseEjectionTime": outliers.base_ejection_time,
        "maxEjectionPercent": outliers.max_ejection_percent,
    }


def destination_rule_manifest(model: str, spec: ModelSpec, namespace: str) -> dict[str, Any]:
    """The model's policy for every version: mutual TLS, pool limits and outlier ejection. No subsets: those
    are the versions' own rules, and istiod takes the top-level policy from the one rule that has it."""
    return {
        "metadata": {
            "name": model_service_name(model),
            "namespace": namespace,
            "labels": model_labels(model),
        },
        "spec": {
            "host": mesh_host(model, namespace),
            "trafficPolicy": {
                "tls": {"mode": "ISTIO_MUTUAL"},
                "connectionPool": _connection_pool(spec.traffic),
                "outlierDetection": _outlier_detection(spec.traffic),
            },
        },
    }


def subset_rule_name(model: str, version: str) -> str:
    return version_object_name(model, version)


def version_subset_manifest(model: str, version: str, namespace: str) -> dict[str, Any]:
    """`<model>-<version>`: the version's subset (by the `version` pod label) of the model's host, and
    nothing else, so that istiod merges it into the model's rule and keeps that rule's traffic policy."""
    return {
        "metadata": {
            "name": subset_rule_name(model, version),
            "namespace": namespace,
            "labels": version_labels(model, version),
        },
        "spec": {
            "host": mesh_host(model, namespace),
            "subsets": [{"name": version, "labels": {"version": version}}],
        },
    }
