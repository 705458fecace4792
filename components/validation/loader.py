"""Load and validate the catalog and the stack configuration, reporting every problem at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from components.catalog.catalog import Catalog
from components.catalog.entries import ParseMemo, load_catalog_yaml
from components.catalog.errors import CatalogError, Problem, Severity
from components.catalog.model import ModelSpec
from components.catalog.pulumi_config import NAMESPACE, Wire, decode, encode
from components.catalog.shard import ShardRole
from components.catalog.source import SourceMap, load_yaml
from components.catalog.stack_config import KubernetesTarget, StackConfig
from components.catalog.translate import problems_from
from components.catalog.version import VersionSpec
from components.validation.partial import partial_version, unknown_stack
from components.validation.rules import PER_VERSION_RULES, RuleContext, run_rules

CONFIG_NAMESPACE = NAMESPACE


@dataclass(frozen=True)
class LoadedCatalog:
    catalog: Catalog
    source: SourceMap
    warnings: tuple[Problem, ...]
    entries: Mapping[str, Any] = field(default_factory=dict)
    """Each model's entry as written (plain data, before the schema): what the offline render cache keys
    a model's objects on."""


def _display(path: Path) -> str:
    """Relative to the working directory when inside it (what editors and CI logs link), else absolute."""
    absolute = path.resolve()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def project_dir(root: Path) -> Path:
    """The project a stack belongs to: the directory its `Pulumi.yaml` really is in (links followed)."""
    marker = root / "Pulumi.yaml"
    return marker.resolve().parent if marker.is_file() else root.resolve()


def catalog_project(catalog: Path) -> Path:
    """The project a catalog belongs to: the nearest directory holding `Pulumi.yaml` at or above the
    catalog's real location, or the catalog's own directory."""
    directory = catalog.resolve().parent
    return next((d for d in (directory, *directory.parents) if (d / "Pulumi.yaml").is_file()), directory)


def is_inside(path: Path, project: Path) -> bool:
    """`path`, with every link in it followed, is `project` or below it."""
    real = path.resolve()
    return real == project or project in real.parents


def _validate(
    model: type[BaseModel], data: Any, source: SourceMap, prefix: tuple[str | int, ...]
) -> tuple[Any, list[Problem]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, problems_from(exc, model, source, prefix)


def _versions_of_invalid_model(
    model: str, raw: Any
) -> tuple[dict[tuple[str, str], VersionSpec], dict[tuple[str, str], VersionSpec]]:
    """Versions of an invalid model (their errors are already reported): those valid on their own, and
    those invalid in some fields only, guarded so that no rule reads those fields."""
    versions = raw.get("versions") if isinstance(raw, dict) else None
    if not isinstance(versions, dict):
        return {}, {}
    valid, partial = {}, {}
    for name, body in versions.items():
        if not isinstance(name, str):
            continue
        try:
            valid[(model, name)] = VersionSpec.model_validate(body)
        except ValidationError as exc:
            if (guarded := partial_version(body, exc)) is not None:
                partial[(model, name)] = guarded
    return valid, partial


@dataclass
class _SchemaPhase:
    """What the schema alone decides about a catalog (no stack needed)."""

    path: Path
    source: SourceMap
    problems: list[Problem]
    models: dict[str, ModelSpec]
    orphans: dict[tuple[str, str], VersionSpec]
    partials: dict[tuple[str, str], VersionSpec]
    catalog: Catalog | None
    entries: Mapping[str, Any] = field(default_factory=dict)

    def rule_problems(self, stack: StackConfig) -> list[Problem]:
        """Every rule finding, located: over the valid models and the valid versions of invalid ones, then
        each partly invalid version on its own through the rules that look at one version at a time."""
        ctx = RuleContext(
            models=self.models,
            stack=stack,
            catalog_dir=self.path.parent,
            orphan_versions=self.orphans,
            project_dir=catalog_project(self.path),
        )
        findings = run_rules(ctx)
        for key, spec in self.partials.items():
            alone = replace(ctx, models={}, orphan_versions={key: spec})
            findings += run_rules(alone, PER_VERSION_RULES)
        out = []
        for finding in findings:
            located = self.source.problem(finding.path, finding.message)
            out.append(
                Problem(
                    located.file,
                    located.line,
                    located.column,
                    located.path,
                    finding.message,
                    finding.severity,
                )
            )
        return out


def _schema_phase(path: Path, memo: ParseMemo | None = None) -> _SchemaPhase:
    data, source = load_catalog_yaml(path, _display(path), memo)
    if not isinstance(data, dict):
        raise CatalogError([source.problem((), "the catalog must be a mapping with apiVersion and models")])
    # Validate model by model so one broken model does not hide the rule violations of the others.
    problems: list[Problem] = []
    models: dict[str, ModelSpec] = {}
    orphans: dict[tuple[str, str], VersionSpec] = {}
    partials: dict[tuple[str, str], VersionSpec] = {}
    raw_models = data.get("models")
    if isinstance(raw_models, dict):
        for name, raw in raw_models.items():
            spec, found = _validate(ModelSpec, raw, source, ("models", name))
            problems += found
            if spec is not None:
                models[name] = spec
            else:
                valid, partial = _versions_of_invalid_model(name, raw)
                orphans.update(valid)
                partials.update(partial)
    # Valid models go in as the instances just built, which pydantic accepts without validating them a
    # second time (that second pass cost as much as the first); broken ones stay raw so they still fail.
    checked = {**data, "models": {**raw_models, **models}} if isinstance(raw_models, dict) else data
    catalog, found = _validate(Catalog, checked, source, ())
    known = {(p.line, p.column, p.message) for p in problems}
    problems += [p for p in found if (p.line, p.column, p.message) not in known]
    entries = raw_models if isinstance(raw_models, dict) else {}
    return _SchemaPhase(path, source, problems, models, orphans, partials, catalog, entries)


def catalog_problems_without_stack(path: Path | str) -> list[Problem]:
    """The catalog's errors for a run whose stack file is invalid: the schema's, and those of every rule
    that reads nothing of the stack (the rest wait for a valid stack file); nothing is held back that the
    catalog alone shows."""
    try:
        phase = _schema_phase(Path(path))
    except CatalogError as exc:
        return exc.problems
    return [*phase.problems, *phase.rule_problems(unknown_stack())]


def parse_catalog(path: Path | str) -> Catalog:
    """The catalog checked against the schema alone (no rule, no stack): for reading it as data, e.g. an
    old revision whose build contexts are not on disk. Raises CatalogError."""
    phase = _schema_phase(Path(path))
    if phase.problems or phase.catalog is None:
        raise CatalogError(phase.problems)
    return phase.catalog


@dataclass(frozen=True)
class SchemaChecked:
    """A catalog past the schema, its rules not yet run: `finish` with what `rule_problems` found gives
    what `load_catalog` does (or raises what it raises). The offline engine runs the rules in another
    process while this one goes on (modelstack/engine/rules_beside.py); nothing may use `catalog` for more
    than work it throws away until `finish` returned."""

    phase: _SchemaPhase
    stack: StackConfig

    @property
    def catalog(self) -> Catalog | None:
        """The catalog as the schema built it: None when the schema rejected it."""
        return self.phase.catalog

    @property
    def entries(self) -> Mapping[str, Any]:
        return self.phase.entries

    @property
    def schema_failed(self) -> bool:
        """The schema alone already decided that `finish` raises."""
        return self.phase.catalog is None or any(p.severity is Severity.ERROR for p in self.phase.problems)

    def rule_problems(self) -> list[Problem]:
        return self.phase.rule_problems(self.stack)

    def finish(self, rule_problems: list[Problem]) -> LoadedCatalog:
        """Raises CatalogError listing every problem, the schema's first."""
        phase = self.phase
        problems = [*phase.problems, *rule_problems]
        errors = [p for p in problems if p.severity is Severity.ERROR]
        if errors or phase.catalog is None:
            raise CatalogError(problems)
        warnings = tuple(p for p in problems if p.severity is Severity.WARNING)
        return LoadedCatalog(phase.catalog, phase.source, warnings, phase.entries)


def check_schema(path: Path | str, stack: StackConfig, memo: ParseMemo | None = None) -> SchemaChecked:
    """`load_catalog` up to its rules (raises CatalogError only when `models.yaml` is not a mapping)."""
    return SchemaChecked(_schema_phase(Path(path), memo), stack)


def load_catalog(path: Path | str, stack: StackConfig, memo: ParseMemo | None = None) -> LoadedCatalog:
    """Validate `models.yaml` against the schema and the stack. Raises CatalogError listing every problem.
    `memo`: where unchanged model entries' parses are kept between runs (the offline engine's cache)."""
    checked = check_schema(path, stack, memo)
    return checked.finish(checked.rule_problems())


def _catalog_of(wire: Wire, root: Path, catalog: Path | None) -> Path:
    raw = wire.values.get(f"{CONFIG_NAMESPACE}:catalog")
    return catalog or root / (raw if raw else "models.yaml")


def load_project(
    wire: Wire, source: SourceMap, root: Path, catalog: Path | None = None, memo: ParseMemo | None = None
) -> tuple[StackConfig, LoadedCatalog]:
    """The stack configuration and the catalog validated in one run: an invalid stack file is reported
    together with every catalog error that does not need the stack (raises CatalogError with both)."""
    stack, checked = check_project_schema(wire, source, root, catalog, memo)
    return stack, checked.finish(checked.rule_problems())


def check_project_schema(
    wire: Wire, source: SourceMap, root: Path, catalog: Path | None = None, memo: ParseMemo | None = None
) -> tuple[StackConfig, SchemaChecked]:
    """`load_project` up to the catalog's rules."""
    try:
        stack = stack_config_from(wire, root, source)
    except CatalogError as stack_error:
        raise CatalogError([*stack_error.problems, *_catalog_problems_beside(wire, root, catalog)]) from None
    return stack, check_schema(catalog or root / stack.catalog, stack, memo)


def load_stack_config_or_every_error(root: Path, stack: str, catalog: Path | None = None) -> StackConfig:
    """The stack configuration; when it is invalid, the error also lists the catalog's schema errors."""
    wire, source = stack_wire(root, stack)
    try:
        return stack_config_from(wire, root, source)
    except CatalogError as stack_error:
        raise CatalogError([*stack_error.problems, *_catalog_problems_beside(wire, root, catalog)]) from None


def load_stack_and_catalog(
    root: Path, stack: str, catalog: Path | None = None, memo: ParseMemo | None = None
) -> tuple[StackConfig, LoadedCatalog]:
    """`load_project` from `Pulumi.<stack>.yaml` in `root`; a value the Pulumi CLI could not pass is
    reported together with the catalog's errors too."""
    config, checked = check_stack_and_catalog_schema(root, stack, catalog, memo)
    return config, checked.finish(checked.rule_problems())


def check_stack_and_catalog_schema(
    root: Path, stack: str, catalog: Path | None = None, memo: ParseMemo | None = None
) -> tuple[StackConfig, SchemaChecked]:
    """`load_stack_and_catalog` up to the catalog's rules."""
    config, source = _config_block(root, stack)
    wire, problems = encode(config, source)
    if problems:
        raise CatalogError([*problems, *_catalog_problems_beside(wire, root, catalog)])
    return check_project_schema(wire, source, root, catalog, memo)


def _catalog_problems_beside(wire: Wire, root: Path, catalog: Path | None) -> list[Problem]:
    """The catalog's errors for a run whose stack file is invalid; only a catalog inside the project is
    read, even to report its errors."""
    path = _catalog_of(wire, root, catalog)
    return catalog_problems_without_stack(path) if any(is_inside(path, p) for p in _projects(root)) else []


def stack_file(root: Path, stack: str) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def _config_block(root: Path, stack: str) -> tuple[dict[Any, Any], SourceMap]:
    path = stack_file(root, stack)
    data, source = load_yaml(path, _display(path), keep_text=True)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CatalogError(
            [source.problem((), "a stack file is a mapping with a `config:` block — write `config:` first")]
        )
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise CatalogError([source.problem(("config",), "config must be a mapping of keys to values")])
    return config, source


def stack_config_values(root: Path, stack: str) -> tuple[dict[str, Any], SourceMap]:
    """The `modelstack:` keys of `Pulumi.<stack>.yaml` (without the namespace) as written, with their
    positions."""
    config, source = _config_block(root, stack)
    prefix = f"{CONFIG_NAMESPACE}:"
    values = {k[len(prefix) :]: v for k, v in config.items() if isinstance(k, str) and k.startswith(prefix)}
    return values, source


def stack_wire(root: Path, stack: str) -> tuple[Wire, SourceMap]:
    """`Pulumi.<stack>.yaml`'s `modelstack:` keys exactly as the Pulumi CLI passes them to the program."""
    config, source = _config_block(root, stack)
    wire, problems = encode(config, source)
    if problems:
        raise CatalogError(problems)
    return wire, source


def parse_stack_config(values: Mapping[str, Any], source: SourceMap) -> StackConfig:
    """Validate decoded stack configuration values; positions point into `Pulumi.<stack>.yaml`."""
    # Problems are located under `config.modelstack:<key>` and shown as `modelstack:<key>...`.
    try:
        return StackConfig.model_validate(dict(values))
    except ValidationError as exc:
        raise CatalogError(problems_from(exc, StackConfig, _NamespacedSource(source), ())) from None


def _projects(root: Path) -> tuple[Path, Path]:
    # The directory holding the stack file, or the one its Pulumi.yaml really is in (`release` runs the
    # program in a directory of links to the project).
    return (root.resolve(), project_dir(root))


def _path_problems(config: StackConfig, root: Path, source: SourceMap) -> list[Problem]:
    """Paths the stack names must stay inside its project: the program reads the catalog, and
    pulumi-kubernetes writes `renderDir`."""
    projects = _projects(root)
    problems = []
    for key, value in (("catalog", config.catalog), ("kubernetes", config.kubernetes.render_dir)):
        if not any(is_inside(root / value, p) for p in projects):
            where = ("config", f"{CONFIG_NAMESPACE}:{key}", *(("renderDir",) if key == "kubernetes" else ()))
            problems.append(
                source.problem(
                    where,
                    f"{value[:80]!r} is outside the project {projects[1]} (links followed) — name a path "
                    "inside it",
                    shown=where[1:],
                )
            )
    return problems


def stack_config_from(wire: Wire, root: Path, source: SourceMap) -> StackConfig:
    """Decode Pulumi's strings the way the program's getters do, validate them, check the paths; a
    `models` shard gets its base's shared settings (docs/sharding.md)."""
    values, problems = decode(wire, StackConfig, source)
    try:
        config = parse_stack_config(values, source)
    except CatalogError as exc:
        raise CatalogError([*problems, *exc.problems]) from None
    problems += _path_problems(config, root, source)
    if problems:
        raise CatalogError(problems)
    if config.shard.role is ShardRole.MODELS:
        return _on_base(config, root, source)
    return config


SHARD_OWN_KEYS = ("namespace", "shard", "kubernetes", "registryPassword")
"""What a `models` shard sets itself; every other setting is its base's, read from the base's file."""


def _written_keys(source: SourceMap) -> set[str]:
    """The `modelstack:` keys the stack file itself writes (Pulumi also passes Pulumi.yaml's defaults)."""
    prefix = f"{CONFIG_NAMESPACE}:"
    return {
        str(path[1]).removeprefix(prefix)
        for path in (*source.keys, *source.values)
        if len(path) >= 2 and path[0] == "config" and str(path[1]).startswith(prefix)
    }


def _on_base(config: StackConfig, root: Path, source: SourceMap) -> StackConfig:
    """A models shard's configuration: its base's settings with the shard's own namespace check, shard,
    kubernetes target and registry password."""
    base = config.shard.base
    assert base is not None  # ShardConfig requires it for role models

    def problem(key: str, *rest: str, message: str) -> Problem:
        where = ("config", f"{CONFIG_NAMESPACE}:{key}", *rest)
        return source.problem(where, message, shown=where[1:])

    problems = [
        problem(
            key,
            message=f"shared by the shards of base {base}: set it in "
            f"Pulumi.{base}.yaml only — a models stack inherits every setting but "
            f"{', '.join(SHARD_OWN_KEYS)}",
        )
        for key in sorted(_written_keys(source) - set(SHARD_OWN_KEYS))
    ]
    if not stack_file(root, base).is_file():
        raise CatalogError(
            [
                *problems,
                problem(
                    "shard",
                    "base",
                    message=f"there is no Pulumi.{base}.yaml in this project "
                    "— name the stack of role base this shard builds on",
                ),
            ]
        )
    shared = load_stack_config(root, base)
    if shared.shard.role is not ShardRole.BASE:
        problems.append(
            problem(
                "shard",
                "base",
                message=f"stack {base} has role {shared.shard.role.value}, "
                "not base — a models stack builds on a stack of role base",
            )
        )
    if config.namespace != shared.namespace:
        problems.append(
            problem(
                "namespace",
                message=f"{config.namespace!r} is not the namespace of base "
                f"{base} ({shared.namespace!r}): the base owns the namespace its shards "
                f"deploy to — write {shared.namespace}",
            )
        )
    mine, theirs = config.kubernetes, shared.kubernetes
    if mine.target is not theirs.target or (
        mine.target is KubernetesTarget.CLUSTER and mine.context != theirs.context
    ):
        problems.append(
            problem(
                "kubernetes",
                message=f"target {mine.target.value} {mine.context or ''}".rstrip()
                + f" is not the base's ({theirs.target.value} {theirs.context or ''}".rstrip()
                + ") — a shard deploys to its base's cluster",
            )
        )
    elif mine.target is KubernetesTarget.RENDER and mine.render_dir == theirs.render_dir:
        problems.append(
            problem(
                "kubernetes",
                "renderDir",
                message=f"{mine.render_dir!r} is the base's "
                "renderDir — give each stack its own (the provider deletes the files of "
                "the objects it deletes)",
            )
        )
    if problems:
        raise CatalogError(problems)
    return shared.model_copy(
        update={"kubernetes": mine, "shard": config.shard, "registry_password": config.registry_password}
    )


class _NamespacedSource(SourceMap):
    """Maps a StackConfig path `nodePools[0].gpu` to the file path `config.modelstack:nodePools[0].gpu`."""

    def __init__(self, inner: SourceMap) -> None:
        super().__init__(inner.file, inner.values, inner.keys, inner.scalars)

    def problem(self, path: Any, message: str, *, key: bool = False, shown: Any = None) -> Problem:
        if path:
            head, *rest = path
            path = ("config", f"{CONFIG_NAMESPACE}:{head}", *rest)
            shown = (f"{CONFIG_NAMESPACE}:{head}", *rest)
        return super().problem(tuple(path), message, key=key, shown=shown)


def load_stack_config(root: Path, stack: str) -> StackConfig:
    """`Pulumi.<stack>.yaml` as the program under `pulumi up` reads it (one decoding path for every command)."""
    wire, source = stack_wire(root, stack)
    return stack_config_from(wire, root, source)
