"""The stacks of a project, the models each owns, and which of them a change touches (docs/sharding.md).

`modelstack stacks --changed-since REF` is what the pull-request workflow builds its job matrix from and
the deploy workflow its order from: bases (and unsharded stacks) in wave 0, models shards in wave 1.

A stack is touched when an input of its program differs between REF and the working tree, compared as
data (no render): its effective settings (a shard's include its base's), the catalog entries of the
models it owns (at REF or now: a model that left is touched too) and, for a base, what it derives from
every model (the metrics adapter's rules and the capacity plan). A change to anything that is not a stack
file, a catalog or documentation (program code, the policy pack, a build context) touches every stack.

Moving a model between two shards of a base is refused unless the giving shard listed it in
`shard.handOver` at REF (so it was deployed retaining the model's objects on delete).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from components.autoscaling.adapter import adapter_config
from components.catalog.errors import CatalogError, Problem
from components.catalog.shard import ShardConfig, ShardRole, raw_facets
from components.catalog.source import load_yaml
from components.catalog.stack_config import StackConfig
from components.gpu.capacity_report import capacity_plan
from components.validation.loader import load_stack_config, parse_catalog
from components.validation.shards import Shards, project_stacks

INERT = ("docs/", "tests/", "bench/", ".github/")
"""Paths no stack's program reads (besides Markdown anywhere)."""


@dataclass(frozen=True)
class StackInfo:
    stack: str
    role: str
    base: str | None
    wave: int
    """Deploy order: 0 for bases and unsharded stacks, 1 for models shards (after their base)."""
    target: str
    models: tuple[str, ...]
    reasons: tuple[str, ...] = ()
    """Why a change touches it (with --changed-since)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "role": self.role,
            "base": self.base,
            "wave": self.wave,
            "target": self.target,
            "models": list(self.models),
            "reasons": list(self.reasons),
        }


@dataclass
class _Project:
    """One revision of the project's inputs, read without rendering."""

    root: Path
    shards: Shards
    configs: dict[str, StackConfig | None] = field(default_factory=dict)
    catalogs: dict[Path, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def at(cls, root: Path) -> _Project:
        return cls(root, Shards.of(root))

    @property
    def stacks(self) -> list[str]:
        return sorted(self.shards.declared)

    def config(self, stack: str) -> StackConfig | None:
        if stack not in self.configs:
            try:
                self.configs[stack] = load_stack_config(self.root, stack)
            except CatalogError:
                self.configs[stack] = None
        return self.configs[stack]

    def catalog_path(self, stack: str) -> Path:
        config = self.config(stack)
        return self.root / (config.catalog if config is not None else "models.yaml")

    def raw_models(self, stack: str) -> dict[str, Any]:
        path = self.catalog_path(stack)
        if path not in self.catalogs:
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                data = None
            models = data.get("models") if isinstance(data, dict) else None
            self.catalogs[path] = models if isinstance(models, dict) else {}
        return dict(self.catalogs[path])

    def shard(self, stack: str) -> ShardConfig:
        return self.shards.declared.get(stack) or ShardConfig()

    def owned(self, stack: str) -> list[str]:
        shard = self.shard(stack)
        return [
            name
            for name, entry in self.raw_models(stack).items()
            if shard.owns(str(name), *raw_facets(entry))
        ]

    def info(self, stack: str, reasons: Iterable[str] = ()) -> StackInfo:
        shard, config = self.shard(stack), self.config(stack)
        return StackInfo(
            stack,
            shard.role.value,
            shard.base,
            1 if shard.role is ShardRole.MODELS else 0,
            config.kubernetes.target.value if config is not None else "unknown",
            tuple(self.owned(stack)),
            tuple(reasons),
        )

    def inputs(self, stack: str) -> dict[str, str]:
        """Digest of each input of the stack's program, by what it is."""
        config = self.config(stack)
        settings = (
            config.model_dump(mode="json", by_alias=True, exclude={"registry_password"})
            if config is not None
            else (self.root / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8", errors="replace")
        )
        found = {"settings": _digest(settings)}
        models = self.raw_models(stack)
        for name in self.owned(stack):
            found[f"model {name}"] = _digest(models[name])
        if self.shard(stack).role is ShardRole.BASE:
            found["models' shared objects and capacity plan"] = self._shared_of_models(stack, config)
        return found

    def _shared_of_models(self, stack: str, config: StackConfig | None) -> str:
        if config is None:
            return "invalid settings"
        try:
            catalog = parse_catalog(self.catalog_path(stack))
        except CatalogError:
            return "invalid catalog: " + _digest(self.raw_models(stack))
        return _digest([adapter_config(catalog.models, config.namespace), capacity_plan(catalog, config)])


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def all_stacks(root: Path) -> list[StackInfo]:
    project = _Project.at(root)
    return sorted((project.info(s) for s in project.stacks), key=lambda i: (i.wave, i.stack))


def _git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise ChangeError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


class ChangeError(Exception):
    """The revision to compare with cannot be read."""


def changed_files(root: Path, ref: str) -> list[str]:
    """Files that differ between `ref` and the working tree (untracked ones included), project-relative."""
    prefix = _git(root, "rev-parse", "--show-prefix").strip()
    names = _git(root, "diff", "--name-only", "--relative", ref, "--").splitlines()
    names += _git(root, "ls-files", "--others", "--exclude-standard").splitlines()
    return sorted({n.removeprefix(prefix) for n in names if n})


def _checkout_inputs(root: Path, ref: str, into: Path) -> Path:
    """Pulumi.yaml, every stack file and every catalog of `ref`, as a directory the loaders read."""
    prefix = _git(root, "rev-parse", "--show-prefix").strip()
    listed = _git(root, "ls-tree", "-r", "--name-only", ref, "--", ".").splitlines()
    for name in listed:
        relative = name.removeprefix(prefix)
        path = PurePosixPath(relative)
        wanted = relative == "Pulumi.yaml" or (len(path.parts) == 1 and path.name.startswith("Pulumi."))
        wanted |= path.suffix in (".yaml", ".yml") and not relative.startswith(INERT)
        if wanted:
            target = into / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(
                subprocess.run(
                    ["git", "-C", str(root), "show", f"{ref}:{name}"], capture_output=True, check=True
                ).stdout
            )
    return into


def _is_inert(name: str, catalogs: set[str]) -> bool:
    path = PurePosixPath(name)
    return (
        name.startswith(INERT)
        or path.suffix == ".md"
        or (len(path.parts) == 1 and path.name.startswith("Pulumi.") and name != "Pulumi.yaml")
        or name in catalogs
    )


@dataclass(frozen=True)
class Changes:
    stacks: list[StackInfo]
    """The touched stacks, in deploy order."""
    problems: list[Problem]
    """Refused moves: a model moved between shards without being handed over first."""


def changed_stacks(root: Path, ref: str) -> Changes:
    head = _Project.at(root)
    files = changed_files(root, ref)
    with tempfile.TemporaryDirectory(prefix="modelstack-stacks-") as tmp:
        before = _Project.at(_checkout_inputs(root, ref, Path(tmp)))
        catalogs = {
            str(head.catalog_path(s).relative_to(root))
            for s in head.stacks
            if head.catalog_path(s).is_relative_to(root)
        }
        code = [name for name in files if not _is_inert(name, catalogs)]
        touched: list[StackInfo] = []
        for stack in head.stacks:
            if code:
                reasons = [f"program input changed: {', '.join(code[:3])}{' …' if len(code) > 3 else ''}"]
            elif stack not in before.shards.declared:
                reasons = ["new stack"]
            else:
                now, then = head.inputs(stack), before.inputs(stack)
                reasons = sorted(k for k in now.keys() | then.keys() if now.get(k) != then.get(k))
            if reasons:
                touched.append(head.info(stack, reasons))
        problems = _unprepared_moves(before, head)
    return Changes(sorted(touched, key=lambda i: (i.wave, i.stack)), problems)


def _owners(project: _Project) -> dict[tuple[str, str], str]:
    """(base, model) → the models shard that owns it."""
    owners: dict[tuple[str, str], str] = {}
    for stack in project.stacks:
        shard = project.shard(stack)
        if shard.role is ShardRole.MODELS and shard.base is not None:
            for model in project.owned(stack):
                owners[(shard.base, model)] = stack
    return owners


def _unprepared_moves(before: _Project, head: _Project) -> list[Problem]:
    then = _owners(before)
    problems = []
    for (base, model), receiving in sorted(_owners(head).items()):
        giving = then.get((base, model))
        if giving is None or giving == receiving:
            continue
        if model in before.shard(giving).hand_over:
            continue
        problems.append(
            _located(
                head.root,
                receiving,
                f"model {model} moves from stack {giving} to stack {receiving} in one change: {giving} would "
                f"delete the objects {receiving} adopts (same names in one namespace), a gap in serving — "
                f"first add {model} to modelstack:shard.handOver of Pulumi.{giving}.yaml and deploy that, "
                "then move it (docs/sharding.md)",
            )
        )
    return problems


def _located(root: Path, stack: str, message: str) -> Problem:
    """`message` at the receiving stack's `modelstack:shard` (its selector is what moved the model)."""
    path = root / f"Pulumi.{stack}.yaml"
    where = ("config", "modelstack:shard", "models")
    try:
        _, source = load_yaml(path, path.name)
    except CatalogError:
        return Problem(path.name, 1, 1, "modelstack:shard.models", message)
    return source.problem(where, message, shown=where[1:])


def waves(stacks: Iterable[StackInfo]) -> list[list[str]]:
    """Stack names grouped by deploy wave, in order."""
    grouped: dict[int, list[str]] = {}
    for info in stacks:
        grouped.setdefault(info.wave, []).append(info.stack)
    return [sorted(grouped[w]) for w in sorted(grouped)]


__all__ = [
    "ChangeError",
    "Changes",
    "StackInfo",
    "all_stacks",
    "changed_files",
    "changed_stacks",
    "project_stacks",
    "waves",
]
