"""The Pulumi program: load and validate configuration and catalog, then declare the stack.

Kept free of Pulumi-CLI assumptions so the offline engine (`modelstack render`) runs the very same code
under Pulumi's mock runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import pulumi

from components.catalog.catalog import Catalog
from components.catalog.errors import CatalogError
from components.catalog.pulumi_config import Wire
from components.catalog.source import SourceMap
from components.catalog.stack_config import StackConfig
from components.outputs import stack_outputs
from components.stack import ModelStack, ModelStackArgs
from components.validation.loader import (
    CONFIG_NAMESPACE,
    load_project,
    stack_file,
    stack_wire,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _runtime_wire() -> Wire:
    """Every `modelstack:` key Pulumi passes to the program, as the strings it passes them in."""
    from pulumi.runtime import config as runtime

    config = pulumi.Config(CONFIG_NAMESPACE)
    keys = {*runtime.get_config_env(), *runtime.CONFIG.get()}
    values: dict[str, str] = {}
    for full in sorted(keys):
        if full.startswith(f"{CONFIG_NAMESPACE}:"):
            raw = config.get(full.removeprefix(f"{CONFIG_NAMESPACE}:"))
            if raw is not None:
                values[full] = str(raw)
    secret = {k for k in values if runtime.is_config_secret(k)} | set(runtime.get_config_secret_keys_env())
    return Wire(values, frozenset(secret & set(values)))


def _positions(root: Path, stack: str) -> SourceMap:
    """Positions of the stack file, for error messages (values still come from Pulumi's config)."""
    try:
        return stack_wire(root, stack)[1]
    except CatalogError:
        return SourceMap(stack_file(root, stack).name)


def load(root: Path, stack_name: str) -> tuple[StackConfig, Catalog]:
    stack, loaded = load_project(_runtime_wire(), _positions(root, stack_name), root)
    for warning in loaded.warnings:
        pulumi.log.warn(str(warning))
    return stack, loaded.catalog


def main(
    root: Path = PROJECT_ROOT,
    *,
    loaded: tuple[StackConfig, Catalog] | None = None,
    declared: Collection[str] | None = None,
    capacity: Callable[[], dict[str, Any] | None] | None = None,
) -> ModelStack:
    """Declare the stack. The offline engine may pass what it already validated from the same files
    (`loaded`), the models to declare (`declared`, see ModelStackArgs) and the capacity plan of `loaded`
    that another process computed meanwhile (`capacity`: None from it means plan here); `pulumi up`
    passes none of them."""
    try:
        stack, catalog = loaded if loaded is not None else load(root, pulumi.get_stack())
    except CatalogError as exc:
        # RunError prints the message without a Python traceback; nothing has been registered yet.
        raise pulumi.RunError(f"invalid modelstack configuration:\n{exc}") from None
    model_stack = ModelStack(
        "modelstack",
        ModelStackArgs(
            catalog=catalog,
            stack=stack,
            # Paths in the catalog (build contexts, golden sets) are relative to the catalog file, as the
            # validation rules read them.
            catalog_dir=str((root / stack.catalog).parent),
            registry_password=pulumi.Config(CONFIG_NAMESPACE).get_secret("registryPassword"),
            declared=declared,
        ),
    )
    for key, value in stack_outputs(model_stack, catalog, stack, capacity).items():
        pulumi.export(key, value)
    return model_stack
