"""Compute resources of one model version: requests equal limits, accelerators as whole numbers."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from components.catalog.base import StrictModel
from components.catalog.patterns import MIG_PROFILE, QUANTITY, excerpt, matching


def _as_text(value: object) -> object:
    # YAML gives `cpu: 4` as an int; Kubernetes quantities are strings.
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _quantity(value: str) -> str:
    if len(value) > 64 or not QUANTITY.matches(value):
        raise ValueError(
            f"{excerpt(value)} is not a Kubernetes quantity — write e.g. '500m' or '4' for CPU, '16Gi' for memory"
        )
    return value


MigProfile = Annotated[
    str,
    matching(
        MIG_PROFILE, lambda v: f"{excerpt(v)} is not a MIG profile — write e.g. '3g.40gb' or '1g.10gb+me'", 32
    ),
]
Quantity = Annotated[str, BeforeValidator(_as_text), AfterValidator(_quantity)]


class Resources(StrictModel):
    """Requests and limits are rendered equal (Guaranteed QoS)."""

    cpu: Quantity
    memory: Quantity
    gpu: int = Field(default=0, ge=0, le=16)
    """Whole GPUs, or the number of MIG instances when `migProfile` is set."""
    mig_profile: MigProfile | None = None
    """MIG profile, e.g. `3g.40gb`; must exist on the node pool's GPU and in its layout."""
    ephemeral_storage: Quantity | None = None


class ProxyResources(StrictModel):
    """CPU and memory of the injected Istio sidecar, rendered as requests = limits so the pod stays
    Guaranteed (Istio's own defaults request less than they limit: the pod would be Burstable)."""

    cpu: Quantity = "100m"
    memory: Quantity = "128Mi"
