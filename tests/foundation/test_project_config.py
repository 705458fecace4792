"""`Pulumi.yaml`'s config block as the real Pulumi CLI reads it (v3.274, `pkg/workspace` project schema).

The CLI validates the project before the program runs: a declared key with no `default` is required in
every stack ("Stack 'dev' is missing configuration values …"), typed keys may only be string, integer,
boolean or an array of those with `items`, and keys outside the project's namespace carry only a value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from components.catalog.stack_config import StackConfig

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "modelstack:"
PRIMITIVES = {"string", "integer", "boolean"}


def declared() -> dict[str, dict[str, Any]]:
    return yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))["config"]


def stack_values(stack: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))["config"]


def field_aliases() -> dict[str, Any]:
    return {info.alias or name: info for name, info in StackConfig.model_fields.items()}


def test_every_declared_key_without_a_default_is_set_by_every_stack() -> None:
    required = [
        key for key, spec in declared().items() if key.startswith(NAMESPACE) and "default" not in spec
    ]
    for stack in ("dev", "prod"):
        missing = [key for key in required if key not in stack_values(stack)]
        assert missing == [], f"Pulumi.{stack}.yaml lacks {missing}: the CLI refuses to run it"


def test_declared_keys_without_a_default_are_required_by_the_schema() -> None:
    fields = field_aliases()
    for key, spec in declared().items():
        if key.startswith(NAMESPACE) and "default" not in spec:
            name = key.removeprefix(NAMESPACE)
            assert name in fields and fields[name].is_required(), f"{key} is optional but has no default"


def test_declared_defaults_parse_to_the_schemas_own_defaults() -> None:
    fields = field_aliases()
    base = {"namespace": "ml-test"}
    for key, spec in declared().items():
        if key.startswith(NAMESPACE) and "default" in spec:
            name = key.removeprefix(NAMESPACE)
            with_default = StackConfig.model_validate({**base, name: spec["default"]})
            assert with_default == StackConfig.model_validate(base), key
            assert name in fields


def test_typed_keys_use_only_types_the_cli_accepts() -> None:
    for key, spec in declared().items():
        kind = spec.get("type")
        if kind is None:
            continue
        assert key.startswith(NAMESPACE), f"{key}: keys outside the project namespace carry only a value"
        if kind == "array":
            assert spec.get("items", {}).get("type") in PRIMITIVES, f"{key}: an array needs primitive items"
        else:
            assert kind in PRIMITIVES, key
