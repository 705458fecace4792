"""How one model version runs: configuration, environment, weights, replicas, precision."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from components.catalog.base import DIGEST_REF, ContainerPath, DnsSubdomain, StrictModel
from components.catalog.patterns import ENV_NAME, FILE_PATH, config_map_key_problem, excerpt
from components.catalog.resources import Quantity


class Precision(StrEnum):
    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"


def _config_key(value: str) -> str:
    problem = config_map_key_problem(value)
    if problem is not None:
        raise ValueError(f"{excerpt(value)} is not a valid ConfigMap key — {problem}")
    return value


ConfigKey = Annotated[str, AfterValidator(_config_key)]


def _env_name(value: str) -> str:
    if len(value) > 256 or not ENV_NAME.matches(value):
        raise ValueError(f"{excerpt(value)} is not an environment variable name — use [A-Za-z_][A-Za-z0-9_]*")
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]


class SecretKeyRef(StrictModel):
    """A key of a Secret created outside modelstack (never inlined in the catalog)."""

    name: DnsSubdomain
    key: ConfigKey


class EnvVar(StrictModel):
    """Exactly one of `value`, `fromConfig` or `fromSecret`."""

    name: EnvName
    value: str | None = None
    from_config: ConfigKey | None = None
    """A key of this version's `config`; a missing key is a catalog error, not an empty variable."""
    from_secret: SecretKeyRef | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        sources = [s for s in (self.value, self.from_config, self.from_secret) if s is not None]
        if len(sources) != 1:
            raise ValueError(
                f"environment variable {self.name} needs exactly one of value, fromConfig or fromSecret"
            )
        return self


def _sub_path(value: str) -> str:
    # validateLocalDescendingPath (k8s.io/kubernetes pkg/apis/core/validation, v1.33): relative, and no
    # '..' element, so a mount can never climb out of its volume.
    if not value or value.startswith("/") or ".." in value.split("/") or not FILE_PATH.matches(value):
        raise ValueError(
            f"{excerpt(value)} is not a sub-path of the volume — write a relative path without '..' "
            "(e.g. 'llama-3/8b')"
        )
    return value


SubPath = Annotated[str, AfterValidator(_sub_path)]


class SecretFile(StrictModel):
    """One key of a Secret (created outside modelstack) mounted read-only as a file: a token the server
    reads from disk never appears in the pod spec or in `kubectl describe`, unlike an environment variable."""

    path: ContainerPath
    """Absolute path of the file in the container, e.g. `/var/run/secrets/hf/token`. Files in one
    directory come from one Secret (the directory is that Secret's volume)."""
    from_secret: SecretKeyRef

    @model_validator(mode="after")
    def _a_file_in_a_directory(self) -> Self:
        directory, _, name = self.path.rstrip("/").rpartition("/")
        if not directory or not name or name in (".", "..") or ".." in self.path.split("/"):
            raise ValueError(
                f"{excerpt(self.path)} is not a file path below a directory — write e.g. /var/run/secrets/hf/token"
            )
        return self

    @property
    def directory(self) -> str:
        return self.path.rstrip("/").rpartition("/")[0]

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rpartition("/")[2]


def _volume_handle(value: str) -> str:
    if not value or len(value) > 1024 or not value.isprintable():
        raise ValueError(f"{excerpt(value)} is not a volume handle — 1 to 1024 printable characters")
    return value


VolumeHandle = Annotated[str, AfterValidator(_volume_handle)]


def _nfs_path(value: str) -> str:
    if not value.startswith("/") or not value.isprintable() or len(value) > 4096:
        raise ValueError(f"{excerpt(value)} is not an absolute export path — write e.g. /exports/models/llm")
    return value


class CsiSource(StrictModel):
    """A volume a CSI driver already holds (static provisioning: an S3 mount, a Lustre or Filestore share)."""

    driver: DnsSubdomain
    volume_handle: VolumeHandle
    volume_attributes: dict[str, str] = Field(default_factory=dict, max_length=64)


class NfsSource(StrictModel):
    server: DnsSubdomain
    """Host name or IPv4 address of the NFS server."""
    path: Annotated[str, AfterValidator(_nfs_path)]


class WeightsVolume(StrictModel):
    """Where the weights already are; the stack declares the PersistentVolume and the claim bound to it.

    The namespace is the stack's own object, so no claim can exist in it before the stack does: the
    stack owns both halves of the binding (pre-bound to each other), created before the Deployment and
    deleted with the version. The storage behind them is never touched (reclaim policy Retain), so a
    `git revert` of a retire binds a fresh pair to the same data.
    """

    csi: CsiSource | None = None
    nfs: NfsSource | None = None
    size: Quantity = "1Gi"
    """The PersistentVolume's capacity and the claim's request (both informational for static volumes)."""

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.csi is None) == (self.nfs is None):
            raise ValueError("modelWeights.volume needs exactly one of csi or nfs")
        return self


class ModelWeights(StrictModel):
    """Read-only model weights: a volume the stack claims, or an OCI image volume (Kubernetes image volumes)."""

    volume: WeightsVolume | None = None
    """Storage that holds the weights; the stack declares its PersistentVolume and claim."""
    pvc: str | None = None
    """Refused: a claim cannot pre-exist in the namespace the stack creates (kept for its error message)."""
    image: str | None = None
    """OCI artifact with the weights, pinned by digest (`repo@sha256:...`)."""
    sub_path: SubPath | None = None
    """A directory inside the volume, relative (Kubernetes refuses absolute sub-paths and '..')."""
    mount_path: ContainerPath = "/models"
    """Exported to the container as `MODEL_WEIGHTS_PATH`."""

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.pvc is not None:
            raise ValueError(
                "modelWeights.pvc names an existing claim, but the stack creates the namespace, so no claim "
                "can exist before it — name the storage instead: modelWeights.volume.csi {driver, "
                "volumeHandle} or modelWeights.volume.nfs {server, path}; the stack declares the "
                "PersistentVolume and its claim (docs/workloads.md)"
            )
        if (self.volume is None) == (self.image is None):
            raise ValueError("modelWeights needs exactly one of volume or image")
        if self.image is not None and not DIGEST_REF.matches(self.image):
            raise ValueError(
                f"weights image {self.image!r} is not pinned by digest — write repo@sha256:<64 hex>"
            )
        return self


class Replicas(StrictModel):
    """`min == max` means a fixed count; `min < max` lets the model's autoscaler scale between them."""

    min: int = Field(default=1, ge=1, le=1000)
    max: int = Field(default=1, ge=1, le=1000)
    idle: int | None = Field(default=None, ge=1, le=1000)
    """Replicas kept warm while the version has weight 0 (default: scaled down to `min`... or 1)."""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"replicas.min ({self.min}) is above replicas.max ({self.max}) — swap them")
        return self


# IsValidUserID / IsValidGroupID: Kubernetes takes user and group ids up to 2^31 − 1.
MAX_ID = 2**31 - 1


class SecurityContext(StrictModel):
    """The non-root identity the server runs as; `fsGroup` makes mounted weights readable."""

    run_as_user: int = Field(default=10001, ge=1, le=MAX_ID)
    run_as_group: int = Field(default=10001, ge=1, le=MAX_ID)
    fs_group: int = Field(default=10001, ge=1, le=MAX_ID)
