"""What each Istio data plane needs from the stack: namespace labels, pod annotations, the scrape endpoint.

`sidecar-cni`: sidecars injected without `istio-init` (the Istio CNI node agent redirects traffic), so pods
pass the restricted Pod Security Standard. Metrics that share the serving port are scraped through Istio's
metrics merging: the sidecar's agent serves the server's metrics and its own on port 15020 in plain text,
outside mutual TLS. A dedicated metrics port gets a port-level PERMISSIVE exception instead.

`ambient`: no sidecar; ztunnel carries every connection over mutual TLS (HBONE) and enforces L4 policy,
the namespace's waypoint enforces L7 policy. Prometheus scrapes from inside the mesh and is admitted by
identity on the metrics port. Sources and versions: docs/upstream-interfaces.md.
"""

from __future__ import annotations

from components.catalog.resources import ProxyResources
from components.catalog.server import ServerPreset
from components.catalog.stack_config import Dataplane, IstioConfig, proxy_resources

MERGED_METRICS_PORT = 15020
"""pilot-agent's telemetry port: merged application + Envoy metrics, never intercepted by the sidecar."""
MERGED_METRICS_PATH = "/stats/prometheus"


def namespace_labels(istio: IstioConfig) -> dict[str, str]:
    if istio.dataplane is Dataplane.AMBIENT:
        return {"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": istio.waypoint}
    return {"istio-injection": "enabled"}


def job_pod_annotations(istio: IstioConfig) -> dict[str, str]:
    """What lets a Job's pod that calls through the mesh complete.

    `sidecar-cni`: the injected proxy runs as a Kubernetes native sidecar (an init container with
    `restartPolicy: Always`, Istio ≥ 1.24 per pod, Kubernetes ≥ 1.29): it starts before the checker and the
    kubelet stops it once the checker exited, so the Job completes. Turning injection off is no way out: the
    model's STRICT PeerAuthentication refuses a caller without a mesh certificate. Calling the agent's
    `/quitquitquit` would need every exit path of the checker to reach it, and holding the checker until
    the proxy is up besides. `ambient`: no sidecar at all (ztunnel on the node carries the pod's mutual
    TLS), so nothing to stop. Sources: docs/upstream-interfaces.md#smoke-jobs-in-the-mesh.
    """
    if istio.dataplane is Dataplane.AMBIENT:
        return {}
    return {"sidecar.istio.io/nativeSidecar": "true"}


def merges_metrics(server: ServerPreset, istio: IstioConfig) -> bool:
    """Metrics on the (STRICT) serving port, scraped through the sidecar's merged endpoint."""
    return istio.dataplane is Dataplane.SIDECAR_CNI and server.metrics_port == server.port


def has_permissive_metrics_port(server: ServerPreset, istio: IstioConfig) -> bool:
    """A dedicated metrics port a Prometheus outside the mesh scrapes in plain text (sidecar data plane)."""
    return istio.dataplane is Dataplane.SIDECAR_CNI and server.metrics_port != server.port


def metrics_annotations(server: ServerPreset, istio: IstioConfig) -> dict[str, str]:
    """Istio's metrics-merging contract: the injector moves these to the agent's environment and rewrites
    them to 15020, where the agent serves the server's `port`/`path` merged with Envoy's metrics."""
    if not merges_metrics(server, istio):
        return {}
    return {
        "prometheus.istio.io/merge-metrics": "true",
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(server.metrics_port),
        "prometheus.io/path": server.metrics_path,
    }


def sidecar_resource_annotations(istio: IstioConfig, model_override: ProxyResources | None) -> dict[str, str]:
    """Istio's injector reads these pod annotations for the sidecar's requests and limits; writing each
    limit equal to its request keeps the pod in the Guaranteed QoS class (istio/istio#35110)."""
    proxy = proxy_resources(istio, model_override)
    if proxy is None:
        return {}
    return {
        "sidecar.istio.io/proxyCPU": proxy.cpu,
        "sidecar.istio.io/proxyCPULimit": proxy.cpu,
        "sidecar.istio.io/proxyMemory": proxy.memory,
        "sidecar.istio.io/proxyMemoryLimit": proxy.memory,
    }
