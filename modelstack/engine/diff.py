"""A plan between two renders, in the shape of `pulumi preview --diff`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MISSING = object()

# Fields the API server (or pulumi-kubernetes) cannot change in place: a change means delete and create.
IMMUTABLE_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Deployment": (("spec", "selector"),),
    "StatefulSet": (("spec", "selector"), ("spec", "volumeClaimTemplates"), ("spec", "serviceName")),
    "DaemonSet": (("spec", "selector"),),
    "Job": (("spec", "template"), ("spec", "selector")),
    "Service": (("spec", "clusterIP"), ("spec", "type")),
    "ConfigMap": (("data",), ("binaryData",)),
    "Secret": (("type",), ("data",), ("stringData",)),
    "PersistentVolumeClaim": (("spec", "accessModes"), ("spec", "storageClassName")),
}


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"


SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.REPLACE: "+-", Action.DELETE: "-"}


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Step:
    action: Action
    key: str
    kind: str
    changes: tuple[Change, ...] = ()
    replace_reasons: tuple[str, ...] = ()


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    unchanged: int = 0

    def count(self, action: Action) -> int:
        return sum(1 for s in self.steps if s.action is action)

    @property
    def summary(self) -> str:
        parts = [f"{self.count(a)} to {a.value}" for a in Action if self.count(a)]
        parts.append(f"{self.unchanged} unchanged")
        return "Resources: " + ", ".join(parts)


def read_render(directory: Path) -> dict[str, dict[str, Any]]:
    """Every object of a render directory by its key (namespace/Kind.group/name.yaml)."""
    objects = {}
    for path in sorted(directory.rglob("*.yaml")):
        body = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        if isinstance(body, dict) and "kind" in body:
            objects[path.relative_to(directory).as_posix()] = body
    return objects


def _list_key(items: list[Any]) -> str | None:
    """Lists of named objects (containers, env, ports, volumes) are compared by name, not index."""
    if items and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        names = [i["name"] for i in items]
        if len(set(names)) == len(names):
            return "name"
    return None


def diff_values(before: Any, after: Any, path: str = "") -> list[Change]:
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Change] = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            out += diff_values(before.get(key, _MISSING), after.get(key, _MISSING), sub)
        return out
    if isinstance(before, list) and isinstance(after, list):
        key = _list_key(before + after) if (before or after) else None
        if key is not None:
            old = {i[key]: i for i in before}
            new = {i[key]: i for i in after}
            out = []
            for name in list(old) + [n for n in new if n not in old]:
                out += diff_values(old.get(name, _MISSING), new.get(name, _MISSING), f"{path}[{name}]")
            return out
        if len(before) == len(after):
            return [
                c
                for i, (b, a) in enumerate(zip(before, after, strict=True))
                for c in diff_values(b, a, f"{path}[{i}]")
            ]
    if before == after:
        return []
    return [Change(path, None if before is _MISSING else before, None if after is _MISSING else after)]


def _replace_reasons(kind: str, changes: list[Change]) -> tuple[str, ...]:
    reasons = []
    for field_path in IMMUTABLE_FIELDS.get(kind, ()):
        prefix = ".".join(field_path)
        if any(c.path == prefix or c.path.startswith((prefix + ".", prefix + "[")) for c in changes):
            reasons.append(prefix)
    return tuple(reasons)


def plan(base: dict[str, dict[str, Any]], head: dict[str, dict[str, Any]]) -> Plan:
    result = Plan()
    for key in sorted(set(base) | set(head)):
        old, new = base.get(key), head.get(key)
        if old is None and new is not None:
            result.steps.append(Step(Action.CREATE, key, new["kind"]))
        elif new is None and old is not None:
            result.steps.append(Step(Action.DELETE, key, old["kind"]))
        elif old is not None and new is not None:
            changes = diff_values(old, new)
            if not changes:
                result.unchanged += 1
                continue
            reasons = _replace_reasons(new["kind"], changes)
            action = Action.REPLACE if reasons else Action.UPDATE
            result.steps.append(Step(action, key, new["kind"], tuple(changes), reasons))
    return result
