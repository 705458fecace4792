"""Per-stack settings (`Pulumi.<stack>.yaml`, namespace `modelstack:`), validated like the catalog."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from components.catalog.base import DIGEST_REF, DnsLabel, StrictModel
from components.catalog.node_pool import NodePool


class KubernetesTarget(StrEnum):
    RENDER = "render"
    CLUSTER = "cluster"


class KubernetesConfig(StrictModel):
    target: KubernetesTarget = KubernetesTarget.RENDER
    render_dir: str = "rendered"
    """`render`: pulumi-kubernetes writes YAML here instead of talking to a cluster."""
    context: str | None = None
    """`cluster`: kubeconfig context to deploy to (the ambient kubeconfig is never used implicitly)."""

    @model_validator(mode="after")
    def _context_for_cluster(self) -> Self:
        if self.target == KubernetesTarget.CLUSTER and not self.context:
            raise ValueError("target cluster needs a kubeconfig `context` — name it explicitly")
        return self


class IstioConfig(StrictModel):
    gateway: str = Field(default="istio-ingress/public-gateway", pattern=r"^[a-z0-9-]+/[a-z0-9-]+$")
    """`<namespace>/<name>` of the Istio Gateway that exposed models attach to."""
    gateway_service_account: str = "istio-ingress/istio-ingressgateway"
    """`<namespace>/<serviceaccount>` of the gateway's pods, allowed to call exposed models."""
    domain: str = Field(default="models.example.com", pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    """Exposed models default to `<model>.<domain>`."""


class RegistryConfig(StrictModel):
    server: str = "registry.example.com"
    """Registry that built images are pushed to."""
    prefix: str = "modelstack"
    username: str | None = None
    """Registry user; the password comes from the secret config key `modelstack:registryPassword`."""


class MonitoringConfig(StrictModel):
    service_monitor_labels: dict[str, str] = {"release": "kube-prometheus-stack"}
    """Labels the Prometheus operator selects ServiceMonitors and PrometheusRules by."""
    adapter_namespace: DnsLabel = "monitoring"


class StackConfig(StrictModel):
    namespace: DnsLabel
    catalog: str = "models.yaml"
    kubernetes: KubernetesConfig = KubernetesConfig()
    registry: RegistryConfig = RegistryConfig()
    istio: IstioConfig = IstioConfig()
    node_pools: tuple[NodePool, ...] = ()
    monitoring: MonitoringConfig = MonitoringConfig()
    smoke_runner_image: str | None = Field(default=None, pattern=DIGEST_REF.pattern)
    """Python image (pinned by digest) the smoke-test Jobs run the checker in; needed once a version
    declares a smoke test."""
    build_images: bool = True
    """False renders built versions with a placeholder digest instead of building (dev, no Docker)."""

    @model_validator(mode="after")
    def _unique_pools(self) -> Self:
        names = [p.name for p in self.node_pools]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"node pool names must be unique; repeated: {', '.join(dupes)}")
        return self

    def pool(self, name: str) -> NodePool | None:
        return next((p for p in self.node_pools if p.name == name), None)
