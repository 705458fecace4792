"""What a rule sees: the validated catalog, the stack, where the catalog lives."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from components.catalog.model import ModelSpec
from components.catalog.stack_config import StackConfig
from components.catalog.version import VersionSpec


class Unknown(BaseException):
    """A rule read a value that failed validation (a guarded field of a partly invalid version, or the
    stack of an invalid stack file): that rule says nothing about it. A BaseException, so that no rule's
    `except Exception` can turn an unknown value into a finding."""


@dataclass(frozen=True)
class RuleContext:
    """What passed schema validation, the stack it is deployed to, and where the catalog lives.

    `orphan_versions` holds valid versions of models that failed validation elsewhere, so version rules
    still report on them and the user sees every problem in one run.
    """

    models: dict[str, ModelSpec]
    stack: StackConfig
    catalog_dir: Path
    orphan_versions: dict[tuple[str, str], VersionSpec] = field(default_factory=dict)
    project_dir: Path | None = None
    """Every path the catalog names must resolve inside it (default: the catalog's directory)."""

    def versions(self) -> Iterator[tuple[str, str, VersionSpec]]:
        for model_name, model in self.models.items():
            for version_name, version in model.versions.items():
                yield model_name, version_name, version
        for (model_name, version_name), version in self.orphan_versions.items():
            yield model_name, version_name, version
