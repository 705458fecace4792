"""How a stack file's `modelstack:` values reach the program, in the one way `pulumi up`, `validate` and
`render` all read them.

Two halves, both Pulumi's own:

- `encode` is what the Pulumi CLI does with `Pulumi.<stack>.yaml` before it starts the program
  (`sdk/go/common/resource/config/value.go`, `Value.unmarshalValue`, pulumi v3.272): a scalar becomes its
  source text (`123` → "123", `1.50` → "1.50", `null` → ""), a mapping of exactly `{secure: <text>}` is a
  secret, and any other mapping or list becomes JSON text, secret if a `{secure: …}` sits anywhere inside
  it. Offline nothing can decrypt a secret, so `[secret]` stands in for its value.
- `decode` is what the program does with those strings: the Python SDK's typed getters
  (`pulumi/config.py`): `get` for text fields, `get_bool` ("true"/"True"/"false"/"False", anything else
  is an error) for booleans, `get_object` (JSON) for mappings and lists. A secret text value is replaced
  by `[secret]` here too, so a decrypted secret never enters the validated configuration.

`render` passes `encode`'s strings to the program as `PULUMI_CONFIG`; `validate` and every other
command decode them directly; the program decodes what Pulumi passes. Every problem is located.
"""

from __future__ import annotations

import datetime
import json
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from components.catalog.errors import Path, Problem
from components.catalog.patterns import excerpt
from components.catalog.source import SourceMap

NAMESPACE = "modelstack"
SECRET_PLACEHOLDER = "[secret]"
"""Offline, the value of every secret; in the program, the value of every secret text setting."""


@dataclass(frozen=True)
class Wire:
    """The configuration as the Pulumi CLI hands it to a program (PULUMI_CONFIG, PULUMI_CONFIG_SECRET_KEYS)."""

    values: dict[str, str]
    """Full key (`modelstack:namespace`) → the string Pulumi passes."""
    secret_keys: frozenset[str]


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("secure"), str)


def _jsonable(value: Any, source: SourceMap, path: Path, problems: list[Problem]) -> tuple[Any, bool]:
    """`value` as Go's JSON encoder would write it after yaml.v2 read it, and whether a secret is inside."""
    if _is_secure(value):
        return SECRET_PLACEHOLDER, True
    if isinstance(value, dict):
        out, secret = {}, False
        for key, item in value.items():
            out[str(key).lower() if isinstance(key, bool) else str(key)], inner = _jsonable(
                item, source, (*path, key), problems
            )
            secret |= inner
        return out, secret
    if isinstance(value, list):
        items = [_jsonable(item, source, (*path, i), problems) for i, item in enumerate(value)]
        return [item for item, _ in items], any(secret for _, secret in items)
    if isinstance(value, float) and not math.isfinite(value):
        problems.append(
            source.problem(
                path,
                f"{value} is not a number JSON can carry (Pulumi refuses it) — write a finite number",
                shown=path[1:],
            )
        )
        return None, False
    if isinstance(value, datetime.date | datetime.datetime):
        # yaml.v2 hands timestamps to an interface{} as their text.
        return source.texts.get(path, value.isoformat()), False
    return value, False


def encode(config: Mapping[Any, Any], source: SourceMap) -> tuple[Wire, list[Problem]]:
    """The `modelstack:` keys of a stack file's `config:` block as the Pulumi CLI passes them."""
    values: dict[str, str] = {}
    secrets: set[str] = set()
    problems: list[Problem] = []
    for key, value in config.items():
        if not isinstance(key, str) or not key.startswith(f"{NAMESPACE}:"):
            continue
        path = ("config", key)
        if _is_secure(value):
            values[key], secret = SECRET_PLACEHOLDER, True
        elif isinstance(value, dict | list):
            data, secret = _jsonable(value, source, path, problems)
            values[key] = json.dumps(data, separators=(",", ":"))
        elif value is None:
            values[key], secret = "", False
        else:
            text = source.texts.get(path)
            values[key], secret = (text if text is not None else str(value)), False
        if secret:
            secrets.add(key)
    return Wire(values, frozenset(secrets)), problems


def _unwrap(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for arg in get_args(annotation) for t in _unwrap(arg) if t is not type(None)]
    return [annotation]


def _getter(model: type[BaseModel], key: str) -> str:
    """Which SDK getter reads a field: 'bool', 'object' or 'text' (also for keys the schema lacks)."""
    for name, info in model.model_fields.items():
        if key in (info.alias, name):
            kinds = _unwrap(info.annotation)
            if bool in kinds:
                return "bool"
            if any(
                get_origin(k) in (dict, list, tuple) or (isinstance(k, type) and issubclass(k, BaseModel))
                for k in kinds
            ):
                return "object"
            return "text"
    return "text"


def decode(wire: Wire, model: type[BaseModel], source: SourceMap) -> tuple[dict[str, Any], list[Problem]]:
    """The values a program gets from Pulumi's typed getters for `model`'s fields, keyed without the
    namespace; problems where a getter would raise ConfigTypeError."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for full, raw in wire.values.items():
        key = full.removeprefix(f"{NAMESPACE}:")
        where = ("config", full)
        getter = _getter(model, key)
        if getter == "bool":
            if raw in ("true", "True", "false", "False"):
                values[key] = raw in ("true", "True")
            else:
                problems.append(
                    source.problem(
                        where,
                        f"expected true or false, got {excerpt(raw)} — Pulumi's get_bool reads only those",
                        shown=(full,),
                    )
                )
        elif getter == "object":
            try:
                values[key] = json.loads(raw)
            except ValueError:
                problems.append(
                    source.problem(
                        where,
                        f"expected a mapping or a list, got {excerpt(raw)} — Pulumi reads this key as a "
                        "JSON object",
                        shown=(full,),
                    )
                )
        else:
            values[key] = SECRET_PLACEHOLDER if full in wire.secret_keys else raw
    return values, problems
