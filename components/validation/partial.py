"""What the rules may still read of input that is partly invalid, so one run reports every error.

A version that failed the schema in some fields is rebuilt with those fields kept as written (typed
`Any`) and guarded: a rule that reads one of them raises `Unknown` and says nothing about that version,
while the fields that did validate are the real, validated values. A stack file that failed gives a stack
that is all unknown: rules that read the stack wait for a valid one, the others still run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from pydantic import ValidationError, create_model

from components.catalog.stack_config import StackConfig
from components.catalog.version import VersionSpec
from components.validation.rules.context import Unknown


def _field_names(model: type[VersionSpec]) -> dict[str, str]:
    """YAML key (alias) or Python name → Python name."""
    names = {name: name for name in model.model_fields}
    names.update({info.alias: name for name, info in model.model_fields.items() if info.alias})
    return names


def partial_version(raw: object, error: ValidationError) -> VersionSpec | None:
    """The version with its failed fields guarded, or None when nothing of it can be read safely.

    Unsafe are: every field an error is located in, and — when a key the schema does not know sits
    beside them — every field not written (the unknown key may be a misspelling of it, so its default
    is not what the author meant). An error of the version as a whole (no field) leaves nothing safe.
    """
    if not isinstance(raw, Mapping):
        return None
    names = _field_names(VersionSpec)
    failed: set[str] = set()
    unknown_keys: set[object] = set()
    for err in error.errors(include_url=False):
        loc = err["loc"]
        if not loc:
            return None
        head = loc[0]
        if err["type"] == "extra_forbidden" and len(loc) == 1:
            unknown_keys.add(head)
        elif isinstance(head, str) and head in names:
            failed.add(names[head])
        else:
            return None
    written = {names[k] for k in raw if isinstance(k, str) and k in names}
    unsafe = set(failed)
    if unknown_keys:
        unsafe |= set(VersionSpec.model_fields) - written
    if unsafe == set(VersionSpec.model_fields):
        return None
    body = {k: v for k, v in raw.items() if k not in unknown_keys}
    # The failed fields are kept as written (so the schema's own cross-field check sees what was written),
    # typed Any so they no longer fail; the guard below keeps every rule from reading them.
    loose: Any = create_model(  # type: ignore[call-overload]
        "PartialVersionSpec", __base__=VersionSpec, **{name: (Any, None) for name in failed}
    )
    try:
        spec = loose.model_validate(body)
    except (ValidationError, ValueError, TypeError, AttributeError):
        return None
    guarded = frozenset(unsafe)

    def guard(self: object, name: str) -> Any:
        if name in guarded:
            raise Unknown(name)
        return object.__getattribute__(self, name)

    # Only after validation: the schema's own validators read every field.
    type.__setattr__(loose, "__getattribute__", guard)
    return cast(VersionSpec, spec)


class _UnknownStack:
    """A stack file that failed validation: any value of it a rule reads is unknown."""

    def __getattr__(self, name: str) -> Any:
        raise Unknown(f"stack.{name}")


def unknown_stack() -> StackConfig:
    return cast(StackConfig, _UnknownStack())
