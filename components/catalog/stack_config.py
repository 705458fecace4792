"""Per-stack settings (`Pulumi.<stack>.yaml`, namespace `modelstack:`), validated like the catalog."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from components.catalog.base import (
    DigestRef,
    DnsLabel,
    FilePath,
    Host,
    LabelKey,
    LabelValue,
    RelativePath,
    RepositoryPath,
    StrictModel,
    is_loopback_registry,
)
from components.catalog.node_pool import NodePool
from components.catalog.patterns import (
    FILE_PATH,
    NAMESPACED_NAME,
    PROMETHEUS_URL,
    REGISTRY,
    excerpt,
    matching,
)
from components.catalog.pulumi_config import SECRET_PLACEHOLDER
from components.catalog.resources import ProxyResources
from components.catalog.shard import ShardConfig
from components.catalog.workload import ConfigKey


class KubernetesTarget(StrEnum):
    RENDER = "render"
    CLUSTER = "cluster"


class KubernetesConfig(StrictModel):
    target: KubernetesTarget = KubernetesTarget.RENDER
    render_dir: RelativePath = "rendered"
    """`render`: pulumi-kubernetes writes YAML here instead of talking to a cluster (inside the project)."""
    context: (
        Annotated[str, matching(FILE_PATH, lambda v: f"{excerpt(v)} has control characters", 253)] | None
    ) = None
    """`cluster`: kubeconfig context to deploy to (the ambient kubeconfig is never used implicitly)."""

    @model_validator(mode="after")
    def _context_for_cluster(self) -> Self:
        if self.target == KubernetesTarget.CLUSTER and not self.context:
            raise ValueError("target cluster needs a kubeconfig `context` — name it explicitly")
        return self


NamespacedName = Annotated[
    str,
    matching(
        NAMESPACED_NAME,
        lambda v: (
            f"{excerpt(v)} is not <namespace>/<name> — write e.g. istio-ingress/istio-ingressgateway "
            "(a DNS-1123 label, '/', a DNS-1123 subdomain)"
        ),
        317,
    ),
]


class Dataplane(StrEnum):
    SIDECAR = "sidecar"
    """Sidecars injected with the `istio-init` container (needs NET_ADMIN and NET_RAW): refused."""
    SIDECAR_CNI = "sidecar-cni"
    """Sidecars, traffic redirected by the Istio CNI node agent (no init container)."""
    AMBIENT = "ambient"
    """No sidecar: ztunnel (L4, mutual TLS) on every node, a waypoint proxy for L7 routing and policy."""


class IstioConfig(StrictModel):
    dataplane: Dataplane = Dataplane.SIDECAR_CNI
    """How pods join the mesh. The namespace enforces the restricted Pod Security Standard, which
    `istio-init` (NET_ADMIN, NET_RAW) violates, so plain `sidecar` is refused (docs/upstream-interfaces.md)."""
    waypoint: DnsLabel = "waypoint"
    """`ambient`: the waypoint (Gateway of class istio-waypoint, in the stack's namespace) that enforces
    L7 policy and routing; its pods run as the ServiceAccount of the same name (`istioctl waypoint apply`)."""
    gateway: NamespacedName = "istio-ingress/public-gateway"
    """`<namespace>/<name>` of the Istio Gateway that exposed models attach to."""
    gateway_service_account: NamespacedName = "istio-ingress/istio-ingressgateway"
    """`<namespace>/<serviceaccount>` of the gateway's pods, allowed to call exposed models (it becomes
    the principal `cluster.local/ns/<namespace>/sa/<serviceaccount>` of the AuthorizationPolicy)."""
    domain: Host = "models.example.com"
    """Exposed models default to `<model>.<domain>`."""
    sidecar_resources: ProxyResources = ProxyResources()
    """`sidecar-cni`: the sidecar's CPU and memory (requests = limits) for models that set none; counted
    in the capacity plan. Ignored under `ambient` (no sidecar)."""

    @field_validator("dataplane")
    @classmethod
    def _restricted_pods(cls, dataplane: Dataplane) -> Dataplane:
        if dataplane is Dataplane.SIDECAR:
            raise ValueError(
                "dataplane sidecar injects the istio-init container with NET_ADMIN and NET_RAW, which the "
                "namespace's restricted Pod Security Standard rejects (no pod would start) — install the "
                "Istio CNI node agent and set dataplane: sidecar-cni, or use dataplane: ambient"
            )
        return dataplane


def proxy_resources(istio: IstioConfig, model_override: ProxyResources | None) -> ProxyResources | None:
    """The sidecar a model's pods get (the model's own setting, else the stack's), None without sidecars."""
    if istio.dataplane is Dataplane.AMBIENT:
        return None
    return model_override or istio.sidecar_resources


class RegistryConfig(StrictModel):
    server: Annotated[
        str,
        matching(REGISTRY, lambda v: f"{excerpt(v)} is not a registry — write host or host:port", 253),
    ] = "registry.example.com"
    """Registry that built images are pushed to."""
    prefix: RepositoryPath = "modelstack"
    username: str | None = None
    """Registry user; the password comes from the secret config key `modelstack:registryPassword`."""


class MonitoringConfig(StrictModel):
    service_monitor_labels: dict[LabelKey, LabelValue] = {"release": "kube-prometheus-stack"}
    """Labels the Prometheus operator selects ServiceMonitors and PrometheusRules by."""
    adapter_namespace: DnsLabel = "monitoring"
    prometheus_service_account: NamespacedName | None = None
    """`<namespace>/<serviceaccount>` of Prometheus. Needed with `istio.dataplane: ambient`: there is no
    sidecar to merge metrics, so Prometheus scrapes from inside the mesh and is allowed by identity."""


class AutoscalingEngine(StrEnum):
    KEDA = "keda"
    """A KEDA ScaledObject per autoscaled version (Prometheus scaler); KEDA creates and owns its HPA."""
    PROMETHEUS_ADAPTER = "prometheus-adapter"
    """An HPA per autoscaled version, served by the cluster's prometheus-adapter; the stack renders only its
    own rules, as a fragment the platform merges into the adapter's configuration (docs/autoscaling.md)."""


class AutoscalingConfig(StrictModel):
    engine: AutoscalingEngine = AutoscalingEngine.KEDA
    """KEDA by default: it needs no cluster-wide configuration, so stacks never contend for it."""
    prometheus_address: Annotated[
        str,
        matching(
            PROMETHEUS_URL,
            lambda v: (
                f"{excerpt(v)} is not an http(s) URL — write e.g. http://prometheus-operated.monitoring.svc:9090"
            ),
            2048,
        ),
    ] = "http://prometheus-operated.monitoring.svc:9090"
    """`keda`: the Prometheus the scaler queries (its `serverAddress`); the operator's default is the
    `prometheus-operated` Service prometheus-operator creates beside every Prometheus."""


def _http_url(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value) if len(value) <= 2048 else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(c.isspace() for c in value)
    ):
        raise ValueError(f"{excerpt(value)} is not an http(s) URL")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


class WebhookConfig(StrictModel):
    url: HttpUrl
    """Where each release-loop decision is POSTed as JSON."""
    format: Literal["generic", "slack"] = "generic"
    """generic: the decision as a JSON object; slack: a Slack incoming-webhook `{"text": …}` payload."""


class ReleaseConfig(StrictModel):
    """Settings of the release loop (`modelstack release run`) for this stack."""

    prometheus: HttpUrl | None = None
    """Prometheus the loop reads the canary's analysis from (the CLI's --prometheus overrides it)."""
    webhooks: tuple[WebhookConfig, ...] = ()
    """Notified of every decision, after it is applied; a failing webhook never blocks a rollback."""


class EgressPort(StrictModel):
    port: int = Field(ge=1, le=65535)
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"


class EgressPeer(StrictModel):
    """Where model pods may connect to: pods (by namespace and labels) or an IP block, on some ports."""

    namespace: DnsLabel | None = None
    """Namespace of the peer pods (matched by its `kubernetes.io/metadata.name` label)."""
    pod_labels: dict[LabelKey, LabelValue] | None = None
    """Labels of the peer pods (all pods of the namespace when omitted)."""
    cidr: str | None = None
    """An IP block instead of pods, e.g. the weights store's `10.20.0.0/16` (IPv4 or IPv6)."""
    ports: tuple[EgressPort, ...] = ()
    """Ports allowed; every port when empty."""

    @field_validator("cidr")
    @classmethod
    def _network(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                network = ipaddress.ip_network(value, strict=True)
            except ValueError:
                raise ValueError(
                    f"{excerpt(value)} is not a CIDR block — write e.g. 10.20.0.0/16 (host bits zero)"
                ) from None
            if str(network) != value:
                raise ValueError(f"{excerpt(value)} is not written canonically — write {network}")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.cidr is None) == (self.namespace is None and self.pod_labels is None):
            raise ValueError("an egress peer is either a cidr or pods (namespace and/or podLabels), not both")
        return self


class EgressConfig(StrictModel):
    """The only connections model pods may open (a default-deny egress NetworkPolicy per model); the
    server holds tokens and weights, so nothing else is reachable from it."""

    enabled: bool = True
    dns: EgressPeer = EgressPeer(
        namespace="kube-system",
        pod_labels={"k8s-app": "kube-dns"},
        ports=(EgressPort(port=53, protocol="UDP"), EgressPort(port=53, protocol="TCP")),
    )
    """The cluster DNS (CoreDNS keeps the `k8s-app: kube-dns` label)."""
    mesh: EgressPeer = EgressPeer(
        namespace="istio-system", pod_labels={"app": "istiod"}, ports=(EgressPort(port=15012),)
    )
    """istiod: xDS configuration and workload certificates for the sidecar (TLS on 15012)."""
    weights_store: tuple[EgressPeer, ...] = ()
    """Where servers fetch weights from at start-up (an object store, a model registry), if anywhere."""
    allow: tuple[EgressPeer, ...] = ()
    """Anything else the servers must reach."""


class StackConfig(StrictModel):
    namespace: DnsLabel
    catalog: FilePath = "models.yaml"
    """Relative to the project (or absolute); it must resolve inside the project."""
    kubernetes: KubernetesConfig = KubernetesConfig()
    registry: RegistryConfig = RegistryConfig()
    istio: IstioConfig = IstioConfig()
    node_pools: tuple[NodePool, ...] = ()
    monitoring: MonitoringConfig = Field(default=MonitoringConfig(), validate_default=True)
    autoscaling: AutoscalingConfig = AutoscalingConfig()
    smoke_runner_image: DigestRef | None = None
    """Python image (pinned by digest) the smoke-test Jobs run the checker in; needed once a version
    declares a smoke test."""
    build_images: bool = True
    """False renders built versions with a placeholder digest instead of building (dev, no Docker)."""
    egress: EgressConfig = EgressConfig()
    secrets: dict[DnsLabel, tuple[ConfigKey, ...]] = {}
    """Secrets of the namespace, created outside modelstack, and their keys: every `env[].fromSecret` of the
    catalog must name one of them and one of its keys (a missing one would crash-loop the pod)."""
    image_pull_secrets: tuple[DnsLabel, ...] = ()
    """Secrets (declared in `secrets`, type `kubernetes.io/dockerconfigjson`) every model pod pulls with."""
    release: ReleaseConfig = ReleaseConfig()
    """The release loop's Prometheus and webhooks."""
    shard: ShardConfig = ShardConfig()
    """Which part of the catalog this stack owns: everything (`all`), the shared objects (`base`) or the
    models a selector picks (`models`); docs/sharding.md."""

    @field_validator("registry")
    @classmethod
    def _reachable_registry(cls, registry: RegistryConfig, info: ValidationInfo) -> RegistryConfig:
        kubernetes = info.data.get("kubernetes")
        cluster = isinstance(kubernetes, KubernetesConfig) and kubernetes.target is KubernetesTarget.CLUSTER
        if cluster and is_loopback_registry(registry.server):
            raise ValueError(
                f"registry.server {registry.server!r} is a loopback address: the cluster's nodes would pull "
                "from themselves — name a registry the nodes reach (loopback registries are for render stacks)"
            )
        return registry

    @model_validator(mode="after")
    def _pull_secrets_declared(self) -> Self:
        missing = [name for name in self.image_pull_secrets if name not in self.secrets]
        if missing:
            raise ValueError(
                f"imagePullSecrets {', '.join(missing)} not declared in secrets — add "
                f"`secrets: {{{missing[0]}: [.dockerconfigjson]}}`"
            )
        return self

    registry_password: str | None = None
    """The registry's password: only ever a secret (`pulumi config set --secret`). The program reads it
    with `get_secret`; here it is `[secret]`, whatever its value."""

    @field_validator("registry_password")
    @classmethod
    def _password_is_secret(cls, value: str | None) -> str | None:
        if value is not None and value != SECRET_PLACEHOLDER:
            raise ValueError(
                "the registry password is written in plain text in the stack file — remove it and run "
                "`pulumi config set --secret modelstack:registryPassword <password>` (it is stored encrypted)"
            )
        return value

    @field_validator("namespace", "catalog", "smoke_runner_image", mode="before")
    @classmethod
    def _not_secret(cls, value: object) -> object:
        if value == SECRET_PLACEHOLDER:
            raise ValueError(
                "this setting is a secret ({secure: …}), but it is written in plain text into the rendered "
                "objects and their names — set it without --secret"
            )
        return value

    @model_validator(mode="after")
    def _unique_pools(self) -> Self:
        names = [p.name for p in self.node_pools]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"node pool names must be unique; repeated: {', '.join(dupes)}")
        return self

    @field_validator("monitoring")
    @classmethod
    def _ambient_scraper(cls, monitoring: MonitoringConfig, info: ValidationInfo) -> MonitoringConfig:
        istio = info.data.get("istio")
        ambient = isinstance(istio, IstioConfig) and istio.dataplane is Dataplane.AMBIENT
        if ambient and monitoring.prometheus_service_account is None:
            raise ValueError(
                "istio.dataplane ambient needs monitoring.prometheusServiceAccount (<namespace>/<sa>): "
                "without sidecars Prometheus must scrape from inside the mesh, and the metrics ports admit "
                "it by that identity — enrol Prometheus's namespace in ambient and name its ServiceAccount"
            )
        return monitoring

    def pool(self, name: str) -> NodePool | None:
        return next((p for p in self.node_pools if p.name == name), None)
