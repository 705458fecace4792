"""A served model: its server, its versions side by side, and the policies shared by all of them."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic.alias_generators import to_camel

from components.catalog.analysis import AnalysisSpec
from components.catalog.autoscaling import AutoscalingSpec
from components.catalog.base import LabelKey, LabelValue, StrictModel, VersionName
from components.catalog.resources import ProxyResources
from components.catalog.server import (
    CUSTOM_REQUIRED,
    ServerKind,
    ServerOverrides,
    ServerPreset,
    resolve_server,
)
from components.catalog.traffic import Caller, Exposure, TrafficSpec
from components.catalog.version import VersionSpec
from components.catalog.workload import SecurityContext


class ModelSpec(StrictModel):
    description: str = ""
    owner: str = Field(default="", max_length=63)
    labels: dict[LabelKey, LabelValue] = {}
    """Free-form labels that stack shards select models by (`modelstack:shard.models.labels`); they are
    not written onto the model's objects."""
    server: ServerKind
    server_overrides: ServerOverrides | None = None
    versions: dict[VersionName, VersionSpec] = Field(min_length=1)
    callers: tuple[Caller, ...] = ()
    """Who may call the model in the mesh; nobody else can (except the gateway when exposed)."""
    expose: Exposure | None = None
    traffic: TrafficSpec = TrafficSpec()
    autoscaling: AutoscalingSpec | None = None
    analysis: AnalysisSpec | None = None
    """Canary thresholds: read by `modelstack gate` and by the alerting rules alike."""
    failed_canaries: dict[VersionName, str] = {}
    """Versions the release loop rolled back, with why; the loop never starts them again. A listed version
    must have weight 0 — remove its entry to release it again (a reviewed change)."""
    security: SecurityContext = SecurityContext()
    sidecar_resources: ProxyResources | None = None
    """CPU and memory of the Istio sidecar in this model's pods (requests = limits); default: the stack's
    `istio.sidecarResources`. Counted in the capacity plan; ignored under `istio.dataplane: ambient`."""

    @model_validator(mode="after")
    def _custom_is_complete(self) -> Self:
        # Checked here, not by a rule: every rule may then resolve the model's server preset.
        if self.server is ServerKind.CUSTOM:
            given = self.server_overrides.model_dump(exclude_none=True) if self.server_overrides else {}
            missing = [to_camel(f) for f in CUSTOM_REQUIRED if f not in given]
            if missing:
                raise ValueError(
                    f"server custom has no preset; serverOverrides must give {', '.join(missing)}"
                )
        return self

    @model_validator(mode="after")
    def _failed_canaries_carry_no_traffic(self) -> Self:
        for name in self.failed_canaries:
            if name not in self.versions:
                raise ValueError(
                    f"failedCanaries names {name!r}, which is not a version (versions: {', '.join(self.versions)})"
                )
            if self.versions[name].weight != 0:
                raise ValueError(
                    f"{name} is listed in failedCanaries but has weight {self.versions[name].weight} — a failed "
                    f"canary carries no traffic; remove failedCanaries.{name} to release it again"
                )
        return self

    @property
    def server_preset(self) -> ServerPreset:
        return resolve_server(self.server, self.server_overrides)


def is_autoscaled(model: ModelSpec, version: VersionSpec) -> bool:
    """An HPA owns the version's replicas (and the Deployment must not set them) when this is true."""
    return model.autoscaling is not None and version.replicas.min < version.replicas.max
