"""A plan between two renders, in the shape of `pulumi preview --diff`, plus what it means per model.

Objects are compared field by field. Lists whose items have an identity (see IDENTITIES) are compared
item by item by that identity, other lists are aligned like a text diff, so a change shows at the item
it touches and not as a shifted index or a whole new list. Each object belongs to the model of its `app`
label; the traffic split of each model comes from the stack contract in `outputs.json`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
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


class Status(StrEnum):
    CHANGED = "changed"
    ADDED = "added"
    """The field or item is new: `before` is None."""
    REMOVED = "removed"
    """The field or item is gone: `after` is None."""


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any
    status: Status = Status.CHANGED


@dataclass(frozen=True)
class Step:
    action: Action
    key: str
    kind: str
    changes: tuple[Change, ...] = ()
    replace_reasons: tuple[str, ...] = ()
    model: str | None = None
    """The model the object serves (its `app` label); None for stack-wide objects."""


Weights = Mapping[str, Mapping[str, int]]
"""model -> version -> traffic weight, in catalog order."""


def describe_weights(before: Mapping[str, int], after: Mapping[str, int]) -> str:
    """`v1 90 → 80, v2 10 → 20`: versions whose weight changed, `v3 new → 0`, `v1 0 → retired`."""
    parts = []
    for version, old in before.items():
        new = after.get(version)
        if new is None:
            parts.append(f"{version} {old} → retired")
        elif new != old:
            parts.append(f"{version} {old} → {new}")
    parts += [f"{version} new → {new}" for version, new in after.items() if version not in before]
    return ", ".join(parts)


@dataclass(frozen=True)
class ModelChange:
    """One model's part of a plan: its traffic split before and after (None: not in that render)."""

    model: str
    before: Mapping[str, int] | None
    after: Mapping[str, int] | None
    known: bool = True
    """False when a side has no stack contract (a render older than it): the split cannot be compared."""

    @property
    def traffic(self) -> str:
        if not self.known:
            return "traffic split unknown (the base has no stack contract)"
        if self.before is None:
            return "new model: " + ", ".join(f"{v} {w}" for v, w in (self.after or {}).items())
        if self.after is None:
            return "removed (was " + ", ".join(f"{v} {w}" for v, w in self.before.items()) + ")"
        return describe_weights(self.before, self.after) or "traffic unchanged"

    @property
    def line(self) -> str:
        return f"{self.model}: {self.traffic}"


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    unchanged: int = 0
    models: list[ModelChange] = field(default_factory=list)

    def steps_of(self, model: str | None) -> list[Step]:
        return [s for s in self.steps if s.model == model]

    def count(self, action: Action) -> int:
        return sum(1 for s in self.steps if s.action is action)

    @property
    def summary(self) -> str:
        parts = [f"{self.count(a)} to {a.value}" for a in Action if self.count(a)]
        parts.append(f"{self.unchanged} unchanged")
        return "Resources: " + ", ".join(parts)


def contract_weights(outputs: Mapping[str, Any]) -> dict[str, dict[str, int]] | None:
    """The traffic split of every model from a render's stack outputs (None: no contract in them)."""
    contract = outputs.get("contract")
    if not isinstance(contract, dict) or not isinstance(contract.get("models"), dict):
        return None
    return {
        model: {
            version: int(spec.get("weight", 0)) for version, spec in (entry.get("versions") or {}).items()
        }
        for model, entry in contract["models"].items()
    }


def read_weights(directory: Path) -> dict[str, dict[str, int]] | None:
    path = directory / "outputs.json"
    if not path.is_file():
        return None
    return contract_weights(json.loads(path.read_text(encoding="utf-8")))


def _model_of(body: Mapping[str, Any]) -> str | None:
    labels = (body.get("metadata") or {}).get("labels") or {}
    app = labels.get("app")
    return app if isinstance(app, str) else None


def read_render(directory: Path) -> dict[str, dict[str, Any]]:
    """Every object of a render directory by its key (namespace/Kind.group/name.yaml)."""
    objects = {}
    for path in sorted(directory.rglob("*.yaml")):
        body = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        if isinstance(body, dict) and "kind" in body:
            objects[path.relative_to(directory).as_posix()] = body
    return objects


def _destination(item: dict[str, Any]) -> str | None:
    """Istio route destinations are told apart by subset (the version), or by host without one."""
    destination = item.get("destination")
    if not isinstance(destination, dict):
        return None
    found = destination.get("subset") or destination.get("host")
    return found if isinstance(found, str) else None


def _toleration(item: dict[str, Any]) -> str | None:
    if "effect" not in item and "key" not in item:
        return None
    return f"{item.get('key', '*')}:{item.get('effect', '*')}"


def _text(field_name: str) -> Callable[[dict[str, Any]], str | None]:
    def identity(item: dict[str, Any]) -> str | None:
        value = item.get(field_name)
        return value if isinstance(value, str) else str(value) if isinstance(value, int) else None

    return identity


def _versioned_alert(item: dict[str, Any]) -> str | None:
    # modelstack writes an alert once per version, told apart by its `version` label.
    alert, labels = item.get("alert"), item.get("labels")
    if not isinstance(alert, str):
        return None
    version = labels.get("version") if isinstance(labels, dict) else None
    return f"{alert}@{version}" if isinstance(version, str) else alert


# What tells the items of a list apart, tried in order; the first that names every item of both sides
# uniquely wins: containers, env vars, ports, volumes, routes and rule groups by name; alert and
# recording rules by alert/record (per-version alerts by alert@version); route destinations by subset;
# mounts by path; tolerations by key and effect; unnamed ports by number.
IDENTITIES: tuple[Callable[[dict[str, Any]], str | None], ...] = (
    _text("name"),
    _text("alert"),
    _versioned_alert,
    _text("record"),
    _destination,
    _text("mountPath"),
    _toleration,
    _text("containerPort"),
    _text("port"),
)


def _list_identities(before: list[Any], after: list[Any]) -> tuple[list[str], list[str]] | None:
    """One identity for both sides: the first candidate that names every item on each side uniquely."""
    if not before and not after:
        return None
    if not all(isinstance(i, dict) for i in before + after):
        return None
    for identity in IDENTITIES:
        old = [identity(i) for i in before]
        new = [identity(i) for i in after]
        if all(n is not None for n in old + new) and len(set(old)) == len(old) and len(set(new)) == len(new):
            return [n for n in old if n is not None], [n for n in new if n is not None]
    return None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _diff_by_identity(
    before: list[Any], after: list[Any], old_ids: list[str], new_ids: list[str], path: str
) -> list[Change]:
    old = dict(zip(old_ids, before, strict=True))
    new = dict(zip(new_ids, after, strict=True))
    out: list[Change] = []
    common_old = [i for i in old_ids if i in new]
    common_new = [i for i in new_ids if i in old]
    if common_old != common_new:
        # Order is meaning for some lists (Istio evaluates routes top-down): a move is a change too.
        out.append(Change(f"{path}.order", common_old, common_new))
    for name in old_ids + [n for n in new_ids if n not in old]:
        out += diff_values(old.get(name, _MISSING), new.get(name, _MISSING), f"{path}[{name}]")
    return out


def _diff_by_position(before: list[Any], after: list[Any], path: str) -> list[Change]:
    """Lists without identities (args, hosts, matches): aligned like a text diff, so one insertion is one
    change, not a shift of every later index. Removed items carry their old index, added ones the new."""
    out: list[Change] = []
    old, new = [_canonical(i) for i in before], [_canonical(i) for i in after]
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            for offset in range(i2 - i1):
                out += diff_values(before[i1 + offset], after[j1 + offset], f"{path}[{j1 + offset}]")
            continue
        out += [Change(f"{path}[{i}]", before[i], None, Status.REMOVED) for i in range(i1, i2)]
        out += [Change(f"{path}[{j}]", None, after[j], Status.ADDED) for j in range(j1, j2)]
    return out


def diff_values(before: Any, after: Any, path: str = "") -> list[Change]:
    """Every leaf that differs, with a path a reader can follow (`spec.http[weighted].route[v2].weight`)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Change] = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            out += diff_values(before.get(key, _MISSING), after.get(key, _MISSING), sub)
        return out
    if isinstance(before, list) and isinstance(after, list):
        if before == after:
            return []
        ids = _list_identities(before, after)
        if ids is not None:
            return _diff_by_identity(before, after, ids[0], ids[1], path)
        return _diff_by_position(before, after, path)
    if before == after and type(before) is type(after):
        return []
    if before is _MISSING:
        return [Change(path, None, after, Status.ADDED)]
    if after is _MISSING:
        return [Change(path, before, None, Status.REMOVED)]
    return [Change(path, before, after)]


def _replace_reasons(kind: str, changes: list[Change]) -> tuple[str, ...]:
    reasons = []
    for field_path in IMMUTABLE_FIELDS.get(kind, ()):
        prefix = ".".join(field_path)
        if any(c.path == prefix or c.path.startswith((prefix + ".", prefix + "[")) for c in changes):
            reasons.append(prefix)
    return tuple(reasons)


def _model_changes(
    steps: list[Step], base_weights: Weights | None, head_weights: Weights | None
) -> list[ModelChange]:
    known = base_weights is not None and head_weights is not None
    before, after = base_weights or {}, head_weights or {}
    names = list(before) + [m for m in after if m not in before]
    names += sorted({s.model for s in steps if s.model and s.model not in names}, key=str)
    out = []
    for name in names:
        change = ModelChange(name, before.get(name), after.get(name), known)
        moved = change.before != change.after
        if (moved and known) or any(s.model == name for s in steps):
            out.append(change)
    return out


def _step(result: Plan, key: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    if old is None and new is not None:
        result.steps.append(Step(Action.CREATE, key, new["kind"], model=_model_of(new)))
    elif new is None and old is not None:
        result.steps.append(Step(Action.DELETE, key, old["kind"], model=_model_of(old)))
    elif old is not None and new is not None:
        changes = diff_values(old, new)
        if not changes:
            result.unchanged += 1
            return
        reasons = _replace_reasons(new["kind"], changes)
        action = Action.REPLACE if reasons else Action.UPDATE
        result.steps.append(Step(action, key, new["kind"], tuple(changes), reasons, _model_of(new)))


def plan(
    base: dict[str, dict[str, Any]],
    head: dict[str, dict[str, Any]],
    base_weights: Weights | None = None,
    head_weights: Weights | None = None,
) -> Plan:
    """Steps from `base` to `head` (objects by key), and per model the traffic split before and after."""
    result = Plan()
    for key in sorted(set(base) | set(head)):
        _step(result, key, base.get(key), head.get(key))
    result.models = _model_changes(result.steps, base_weights, head_weights)
    return result


def plan_by_digest(
    base: Mapping[str, str],
    head: Mapping[str, str],
    base_object: Callable[[str], dict[str, Any] | None],
    head_object: Callable[[str], dict[str, Any]],
    *,
    base_weights: Weights | None = None,
    head_weights: Weights | None = None,
) -> Plan:
    """`plan` from each side's text digests (key → SHA-256 of its YAML text): an object whose text is the
    same on both sides is unchanged without being read; the others are loaded (`*_object`; a base file that
    is not an object is None, as `read_render` leaves it out) and compared as `plan` does."""
    result = Plan()
    for key in sorted(set(base) | set(head)):
        old_digest, new_digest = base.get(key), head.get(key)
        if old_digest is not None and old_digest == new_digest:
            result.unchanged += 1
            continue
        old = base_object(key) if old_digest is not None else None
        new = head_object(key) if new_digest is not None else None
        _step(result, key, old, new)
    result.models = _model_changes(result.steps, base_weights, head_weights)
    return result
