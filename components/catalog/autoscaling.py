"""Queue-length autoscaling of every version of a model (each version scales on its own queue)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from components.catalog.base import StrictModel


class MetricType(StrEnum):
    PODS = "Pods"
    EXTERNAL = "External"


class ScalingBehavior(StrictModel):
    """Fast scale-up, slow scale-down: a GPU replica can take many minutes to load its model."""

    scale_up_stabilization_seconds: int = Field(default=0, ge=0, le=3600)
    scale_up_pods: int = Field(default=4, ge=1, le=1000)
    scale_up_period_seconds: int = Field(default=60, ge=1, le=1800)
    scale_down_stabilization_seconds: int = Field(default=1800, ge=0, le=3600)
    """Half an hour: scaling down a replica that took ten minutes to load, then reloading it, costs more."""
    scale_down_pods: int = Field(default=1, ge=1, le=1000)
    scale_down_period_seconds: int = Field(default=300, ge=1, le=1800)


class AutoscalingSpec(StrictModel):
    metric: str | None = None
    """Defaults to the server preset's queue metric; must be one the server exposes."""
    type: MetricType = MetricType.PODS
    target: float = Field(gt=0)
    """Average queued requests per replica the HPA aims for."""
    behavior: ScalingBehavior = ScalingBehavior()
