"""The Pulumi program: load and validate configuration and catalog, then declare the stack.

Kept free of Pulumi-CLI assumptions so the offline engine (`modelstack render`) runs the very same code
under Pulumi's mock runtime.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

from components.catalog.catalog import Catalog
from components.catalog.errors import CatalogError
from components.catalog.source import SourceMap
from components.catalog.stack_config import StackConfig
from components.outputs import stack_outputs
from components.stack import ModelStack, ModelStackArgs
from components.validation.loader import (
    CONFIG_NAMESPACE,
    load_project,
    stack_config_values,
    stack_file,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _config_values() -> dict[str, Any]:
    """Every `modelstack:` key Pulumi passes to the program, decoded (objects arrive as JSON text)."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    values: dict[str, Any] = {}
    for name, info in StackConfig.model_fields.items():
        key = info.alias or name
        raw = config.get(key)
        if raw is None:
            continue
        try:
            values[key] = json.loads(raw) if raw[:1] in "{[" or raw in ("true", "false") else raw
        except json.JSONDecodeError:
            values[key] = raw
    return values


def _positions(root: Path, stack: str) -> SourceMap:
    """Positions of the stack file, for error messages (values still come from Pulumi's config)."""
    try:
        return stack_config_values(root, stack)[1]
    except CatalogError:
        return SourceMap(stack_file(root, stack).name)


def load(root: Path, stack_name: str) -> tuple[StackConfig, Catalog]:
    stack, loaded = load_project(_config_values(), _positions(root, stack_name), root)
    for warning in loaded.warnings:
        pulumi.log.warn(str(warning))
    return stack, loaded.catalog


def main(root: Path = PROJECT_ROOT) -> ModelStack:
    try:
        stack, catalog = load(root, pulumi.get_stack())
    except CatalogError as exc:
        # RunError prints the message without a Python traceback; nothing has been registered yet.
        raise pulumi.RunError(f"invalid modelstack configuration:\n{exc}") from None
    model_stack = ModelStack(
        "modelstack",
        ModelStackArgs(
            catalog=catalog,
            stack=stack,
            catalog_dir=str(root),
            registry_password=pulumi.Config(CONFIG_NAMESPACE).get_secret("registryPassword"),
        ),
    )
    for key, value in stack_outputs(model_stack, catalog, stack).items():
        pulumi.export(key, value)
    return model_stack
