"""The stack contract: the one versioned object a stack exports for other stacks and teams to read.

Evolution rules (docs/contract.md): fields are only ever added, never renamed, removed or given a new
meaning; a breaking change bumps `schemaVersion`. Readers therefore ignore fields they do not know
(`extra="ignore"`), so a consumer built against an older release keeps working when fields are added.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

SCHEMA_VERSION: Literal[1] = 1
SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (SCHEMA_VERSION,)
"""Every `schemaVersion` this code can read."""

DigestRef = Annotated[str, Field(pattern=r"^[^@\s]+@sha256:[0-9a-f]{64}$")]
Digest = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]
Name = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
Host = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)]


class ContractModel(BaseModel):
    """Shared configuration: camelCase keys, immutable values, unknown (newer) fields ignored.

    Every nullable field defaults to null: Pulumi drops null values from outputs on their way through
    the engine, so a reader must not require them to be present.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="ignore",
        use_attribute_docstrings=True,
    )


class ApiFlavour(StrEnum):
    """The serving runtime, which fixes the request protocol a client must speak."""

    TRITON = "triton"
    VLLM = "vllm"
    TGI = "tgi"
    CUSTOM = "custom"


class MeshEndpoint(ContractModel):
    host: Host
    """In-mesh DNS name of the model's Service: `<model>.<namespace>.svc.cluster.local`."""
    port: int = Field(ge=1, le=65535)
    url: str = Field(pattern=r"^http://")
    """`http://<host>:<port>`; mTLS is added by the sidecars, so callers speak plain HTTP."""


class ExternalEndpoint(ContractModel):
    host: Host
    """Host on the stack's Istio gateway (default `<model>.<istio.domain>`)."""
    path_prefix: str = Field(pattern=r"^/")
    url: str = Field(pattern=r"^https://")
    """`https://<host>`: TLS is terminated at the gateway."""


class Metrics(ContractModel):
    port: int = Field(ge=1, le=65535)
    path: str = Field(pattern=r"^/")
    queue_metric: str
    """Gauge of requests waiting for the model (the default autoscaling metric)."""
    exposed: tuple[str, ...]
    """Every metric name the server exposes."""


class Autoscaling(ContractModel):
    metric: str
    """Metric the HPAs of the model's autoscaled versions follow."""
    type: Literal["Pods", "External"]
    target: float = Field(gt=0)
    """Average value per replica the HPA aims for."""


class ReplicaRange(ContractModel):
    min: int = Field(ge=1)
    max: int = Field(ge=1)
    autoscaled: bool
    """True when an HPA moves the replica count between min and max."""


class GpuRequest(ContractModel):
    count: int = Field(ge=1)
    """Whole GPUs, or MIG instances when `migProfile` is set."""
    mig_profile: str | None = None
    """MIG profile such as `3g.40gb`; null for whole GPUs."""
    resource: str
    """Extended resource the pods request, e.g. `nvidia.com/gpu` or `nvidia.com/mig-3g.40gb`."""


class VersionContract(ContractModel):
    image: DigestRef
    """`repo@sha256:…`: the prebuilt image, or the digest the stack's image build pushed."""
    digest: Digest
    weight: int = Field(ge=0, le=100)
    """Share of the model's traffic in percent."""
    replicas: ReplicaRange
    node_pool: Name | None = None
    """Node pool the version runs on."""
    gpu: GpuRequest | None = None
    """GPUs per replica; null for a CPU version."""
    deployment: Name
    service: Name
    """Per-version Service, for callers that must pin one version (tests, shadow reads)."""


class ModelContract(ContractModel):
    api: ApiFlavour
    mesh: MeshEndpoint
    external: ExternalEndpoint | None = None
    """Null when the model is not exposed through the gateway."""
    metrics: Metrics
    autoscaling: Autoscaling | None = None
    versions: dict[Name, VersionContract] = Field(min_length=1)


class IntBounds(ContractModel):
    """A value at minimum and at maximum replicas."""

    min: int
    max: int


class FloatBounds(ContractModel):
    min: float
    max: float


class FitBounds(ContractModel):
    min: bool
    max: bool


class CapacityClaim(ContractModel):
    model: Name
    version: Name
    per_replica: float
    """Units of the resource one replica requests."""
    replicas: IntBounds


class CapacityResource(ContractModel):
    """One thing a node of the pool offers a fixed amount of: whole GPUs, a MIG profile, CPU, memory."""

    unit: str
    """`gpu`, a MIG profile such as `3g.40gb`, `cpu` or `memory` (GiB)."""
    resource: str
    per_node: float
    supply: float
    """Units the pool supplies at maxNodes."""
    demand: FloatBounds
    utilization: FloatBounds
    """Demand over supply (0–1, above 1 when it does not fit)."""
    nodes_needed: IntBounds
    versions: tuple[CapacityClaim, ...]


class PoolCapacity(ContractModel):
    pool: Name
    gpu: str | None = None
    """GPU model key (e.g. `H100-80GB`); null for a CPU pool."""
    gpus_per_node: int
    mig_strategy: Literal["none", "single", "mixed"]
    mig_layout: dict[str, int]
    min_nodes: int
    max_nodes: int
    nodes_needed: IntBounds
    fits: FitBounds
    """Whether the pool holds every version at minimum / maximum replicas."""
    resources: tuple[CapacityResource, ...]


class CapacityPlan(ContractModel):
    """What every version asks of its node pool at minimum and maximum replicas (components.gpu.capacity)."""

    pools: tuple[PoolCapacity, ...]


class ShardExport(ContractModel):
    """Where a sharded stack sits (docs/sharding.md); absent for an unsharded stack."""

    role: Literal["base", "models"]
    base: str | None = None
    """`models`: the base stack it builds on."""
    shared: Digest
    """Digest of the settings the shards of a base share (all but `kubernetes`, `shard` and
    `registryPassword`): a models stack refuses to deploy on a base that exports another one."""


class Contract(ContractModel):
    schema_version: Literal[1]
    """Bumped only for a breaking change; readers refuse versions they do not know."""
    stack: str
    namespace: Name
    models: dict[Name, ModelContract]
    capacity: CapacityPlan | None = None
    """The stack's capacity plan per node pool; optional for readers. A base exports the plan of every
    model of its shards; a models shard exports none (its base's pools are the ones planned)."""
    shard: ShardExport | None = None
    """Only for a sharded stack: its role, its base and the digest of the shared settings."""


def json_schema() -> dict[str, object]:
    """The JSON Schema committed at docs/contract.schema.json (a test fails when they drift)."""
    schema = Contract.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


if __name__ == "__main__":
    # Regenerate the committed schema: python -m components.contract.schema > docs/contract.schema.json
    import json

    print(json.dumps(json_schema(), indent=2, sort_keys=True))
