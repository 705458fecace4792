"""The root of `models.yaml`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from components.catalog.base import ModelName, StrictModel
from components.catalog.model import ModelSpec

if TYPE_CHECKING:
    from components.catalog.stack_config import StackConfig


class Catalog(StrictModel):
    api_version: Literal["modelstack/v1"] = Field(alias="apiVersion")
    models: dict[ModelName, ModelSpec] = Field(min_length=1)


def served_models(catalog: Catalog, stack: StackConfig) -> dict[str, ModelSpec]:
    """The models whose objects this stack declares: all of them, none (a base) or a shard's selection."""
    shard = stack.shard
    return {
        name: model for name, model in catalog.models.items() if shard.owns(name, model.owner, model.labels)
    }
