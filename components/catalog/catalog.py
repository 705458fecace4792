"""The root of `models.yaml`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from components.catalog.base import ModelName, StrictModel
from components.catalog.model import ModelSpec


class Catalog(StrictModel):
    api_version: Literal["modelstack/v1"] = Field(alias="apiVersion")
    models: dict[ModelName, ModelSpec] = Field(min_length=1)
