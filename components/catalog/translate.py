"""Turn pydantic's errors into one-line 'what is wrong — how to fix it' messages at YAML positions."""

from __future__ import annotations

import re
import types
import typing
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from components.catalog.errors import Path, PathPart, Problem, did_you_mean
from components.catalog.source import SourceMap

_TYPE_NAMES = {
    "int": "a whole number",
    "float": "a number",
    "string": "text",
    "bool": "true or false",
    "dict": "a mapping (key: value)",
    "list": "a list",
    "tuple": "a list",
    "model": "a mapping (key: value)",
}


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (Optional, Annotated and unions flattened)."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for arg in get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _model_at(root: type[BaseModel], loc: tuple[PathPart, ...]) -> type[BaseModel] | None:
    """The pydantic model class that validates the mapping at `loc` (alias path), if any."""
    candidates: list[Any] = [root]
    for part in loc:
        nxt: list[Any] = []
        for cand in candidates:
            origin = get_origin(cand)
            if isinstance(cand, type) and issubclass(cand, BaseModel) and isinstance(part, str):
                for name, info in cand.model_fields.items():
                    if part in (info.alias, name):
                        nxt += _unwrap(info.annotation)
            elif origin is dict:
                nxt += _unwrap(get_args(cand)[1])
            elif origin in (list, tuple) and isinstance(part, int):
                nxt += _unwrap(get_args(cand)[0])
        candidates = nxt
    models = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
    return models[0] if models else None


# pydantic inserts validator/union tags such as `function-after[_quantity(), str]` into error locations.
_TAG = re.compile(r"^[a-z][a-z0-9-]*\[.*\]$")


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[Path, bool]:
    """Drop pydantic's union/validator tags; report whether the error is about a mapping key."""
    path: list[PathPart] = []
    is_key = False
    for part in loc:
        if part == "[key]":
            is_key = True
        elif isinstance(part, int) or not _TAG.match(part):
            path.append(part)
    return tuple(path), is_key


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _message(err: ErrorDetails, root: type[BaseModel], path: Path) -> str:
    kind, value = err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        model = _model_at(root, path[:-1])
        allowed = _allowed_keys(model) if model else []
        hint = did_you_mean(str((path or ("",))[-1]), allowed)
        return f"unknown key {(path or ('',))[-1]!r}{hint or ' — remove it'} (allowed: {', '.join(allowed)})"
    if kind == "missing":
        return f"required key {(path or ('',))[-1]!r} is missing — add it"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"]))
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", ""))
        options = [o.strip(" '") for o in expected.replace(" or ", ",").split(",") if o.strip(" '")]
        hint = did_you_mean(str(value), options)
        return f"{value!r} is not allowed — use one of {expected}{hint.replace(' — ', '; ')}"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        wanted = _TYPE_NAMES.get(kind.split("_")[0], kind.split("_")[0])
        return f"expected {wanted}, got {value!r} — change the value's type"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return f"{value!r} is out of range: {err['msg'].lower()} — change the value"
    if kind in ("too_short", "too_long"):
        return f"{err['msg']} — change the number of entries"
    if kind == "string_pattern_mismatch":
        return f"{value!r} has the wrong format (expected to match {ctx.get('pattern')}) — fix the value"
    return f"{err['msg']} (got {value!r})"


def problems_from(
    exc: ValidationError, root: type[BaseModel], source: SourceMap, prefix: Path
) -> list[Problem]:
    """Every error of one validation, located in the YAML file. `prefix` is where `root` sits in it."""
    out = []
    for err in exc.errors(include_url=False):
        path, is_key = _clean_loc(err["loc"])
        full = (*prefix, *path)
        message = _message(err, root, path)
        out.append(source.problem(full, message, key=is_key or err["type"] == "extra_forbidden"))
    return out
