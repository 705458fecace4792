"""Istio's documented behaviour, as a small oracle: does a Prometheus scrape reach the server's metrics?

Written from Istio's documentation, not from modelstack's renderer (docs/upstream-interfaces.md, item 3):
- PeerAuthentication: a namespace-wide policy sets the default mode; a workload policy (selector) wins for
  the pods it selects, `portLevelMtls` per container port. STRICT refuses plain text (a Prometheus outside
  the mesh scrapes in plain text); PERMISSIVE accepts both.
- AuthorizationPolicy: once any ALLOW policy applies to a workload, a request must match one of its rules.
  With sidecars a policy applies by `selector`; under ambient, ztunnel enforces `selector` policies on
  connections to the pod, and `targetRefs` policies are enforced by the waypoint (service traffic only:
  a scrape addresses the pod IP and never passes the waypoint).
- Metrics merging (sidecars): the agent serves, on 15020 `/stats/prometheus`, outside mutual TLS and the
  inbound policy, Envoy's metrics merged with the application's `prometheus.io/port` + `prometheus.io/path`
  (unless `prometheus.istio.io/merge-metrics: "false"`).
- Ambient: Prometheus enrolled in the mesh reaches a mesh pod over HBONE with its own identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scrape:
    port: int
    path: str


def _matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    wanted = (selector or {}).get("matchLabels", {})
    return all(labels.get(k) == v for k, v in wanted.items())


def pod_monitor_target(pod_monitor: dict[str, Any], containers: list[dict[str, Any]]) -> Scrape | None:
    (endpoint,) = pod_monitor["spec"]["podMetricsEndpoints"]
    if "portNumber" in endpoint:
        return Scrape(endpoint["portNumber"], endpoint["path"])
    ports = {p["name"]: p["containerPort"] for c in containers for p in c.get("ports", [])}
    number = ports.get(endpoint["port"])
    return Scrape(number, endpoint["path"]) if number is not None else None


def mtls_mode(port: int, labels: dict[str, str], peer_authentications: list[dict[str, Any]]) -> str:
    mode = "PERMISSIVE"  # Istio's default without any policy
    namespace_wide = [p for p in peer_authentications if "selector" not in p["spec"]]
    workload = [
        p for p in peer_authentications if "selector" in p["spec"] and _matches(p["spec"]["selector"], labels)
    ]
    for policy in [*namespace_wide, *workload]:
        spec = policy["spec"]
        mode = spec.get("mtls", {}).get("mode", mode)
        mode = spec.get("portLevelMtls", {}).get(str(port), {}).get("mode", mode)
    return mode


def _rule_allows(rule: dict[str, Any], port: int, path: str, principal: str | None) -> bool:
    sources = [f["source"] for f in rule.get("from", [])]
    if sources and not any(principal is not None and principal in s.get("principals", []) for s in sources):
        return False
    operations = [t["operation"] for t in rule.get("to", [])]
    if not operations:
        return True
    return any(
        str(port) in op.get("ports", [str(port)])
        and "GET" in op.get("methods", ["GET"])
        and path in op.get("paths", [path])
        for op in operations
    )


def authorized(
    policies: list[dict[str, Any]], labels: dict[str, str], port: int, path: str, principal: str | None
) -> bool:
    applying = [p for p in policies if "selector" in p["spec"] and _matches(p["spec"]["selector"], labels)]
    allows = [p for p in applying if p["spec"].get("action", "ALLOW") == "ALLOW"]
    if not allows:
        return True
    return any(_rule_allows(r, port, path, principal) for p in allows for r in p["spec"].get("rules", []))


def scrape_reaches_metrics(
    *,
    dataplane: str,
    pod: dict[str, Any],
    pod_monitor: dict[str, Any],
    peer_authentications: list[dict[str, Any]],
    authorization_policies: list[dict[str, Any]],
    metrics_port: int,
    metrics_path: str,
    prometheus_principal: str | None,
) -> bool:
    """True when the PodMonitor's scrape returns the server's own metrics under that data plane."""
    labels, annotations = pod["metadata"]["labels"], pod["metadata"].get("annotations", {})
    target = pod_monitor_target(pod_monitor, pod["spec"]["containers"])
    if target is None:
        return False
    if dataplane == "sidecar-cni":
        if (target.port, target.path) == (15020, "/stats/prometheus"):
            return (
                annotations.get("prometheus.istio.io/merge-metrics", "true") != "false"
                and annotations.get("prometheus.io/port") == str(metrics_port)
                and annotations.get("prometheus.io/path", "/metrics") == metrics_path
            )
        if (target.port, target.path) != (metrics_port, metrics_path):
            return False
        if mtls_mode(target.port, labels, peer_authentications) != "PERMISSIVE":
            return False
        return authorized(authorization_policies, labels, target.port, target.path, principal=None)
    assert dataplane == "ambient"
    if prometheus_principal is None or (target.port, target.path) != (metrics_port, metrics_path):
        return False
    return authorized(authorization_policies, labels, target.port, target.path, prometheus_principal)
