"""Load and validate the catalog and the stack configuration, reporting every problem at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from components.catalog.catalog import Catalog
from components.catalog.errors import CatalogError, Problem, Severity
from components.catalog.model import ModelSpec
from components.catalog.source import SourceMap, load_yaml
from components.catalog.stack_config import StackConfig
from components.catalog.translate import problems_from
from components.catalog.version import VersionSpec
from components.validation.rules import RuleContext, run_rules

CONFIG_NAMESPACE = "modelstack"


@dataclass(frozen=True)
class LoadedCatalog:
    catalog: Catalog
    source: SourceMap
    warnings: tuple[Problem, ...]


def _display(path: Path) -> str:
    """Relative to the working directory when inside it (what editors and CI logs link), else absolute."""
    absolute = path.resolve()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def _validate(
    model: type[BaseModel], data: Any, source: SourceMap, prefix: tuple[str | int, ...]
) -> tuple[Any, list[Problem]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, problems_from(exc, model, source, prefix)


def _valid_versions(model: str, raw: Any, source: SourceMap) -> dict[tuple[str, str], VersionSpec]:
    """Versions of an invalid model that are valid on their own (their errors are already reported)."""
    versions = raw.get("versions") if isinstance(raw, dict) else None
    if not isinstance(versions, dict):
        return {}
    out = {}
    for name, body in versions.items():
        spec, _ = _validate(VersionSpec, body, source, ())
        if spec is not None and isinstance(name, str):
            out[(model, name)] = spec
    return out


@dataclass
class _SchemaPhase:
    """What the schema alone decides about a catalog (no stack needed)."""

    source: SourceMap
    problems: list[Problem]
    models: dict[str, ModelSpec]
    orphans: dict[tuple[str, str], VersionSpec]
    catalog: Catalog | None


def _schema_phase(path: Path) -> _SchemaPhase:
    data, source = load_yaml(path, _display(path))
    if not isinstance(data, dict):
        raise CatalogError([source.problem((), "the catalog must be a mapping with apiVersion and models")])
    # Validate model by model so one broken model does not hide the rule violations of the others.
    problems: list[Problem] = []
    models: dict[str, ModelSpec] = {}
    orphans: dict[tuple[str, str], VersionSpec] = {}
    raw_models = data.get("models")
    if isinstance(raw_models, dict):
        for name, raw in raw_models.items():
            spec, found = _validate(ModelSpec, raw, source, ("models", name))
            problems += found
            if spec is not None:
                models[name] = spec
            else:
                orphans.update(_valid_versions(name, raw, source))
    # Valid models go in as the instances just built, which pydantic accepts without validating them a
    # second time (that second pass cost as much as the first); broken ones stay raw so they still fail.
    checked = {**data, "models": {**raw_models, **models}} if isinstance(raw_models, dict) else data
    catalog, found = _validate(Catalog, checked, source, ())
    known = {(p.line, p.column, p.message) for p in problems}
    problems += [p for p in found if (p.line, p.column, p.message) not in known]
    return _SchemaPhase(source, problems, models, orphans, catalog)


def catalog_schema_problems(path: Path | str) -> list[Problem]:
    """The catalog's schema errors alone, for a run whose stack file is invalid: the rules that need the
    stack wait for a valid one, but nothing the catalog alone shows is held back."""
    try:
        return _schema_phase(Path(path)).problems
    except CatalogError as exc:
        return exc.problems


def load_catalog(path: Path | str, stack: StackConfig) -> LoadedCatalog:
    """Validate `models.yaml` against the schema and the stack. Raises CatalogError listing every problem."""
    path = Path(path)
    phase = _schema_phase(path)
    problems, source = phase.problems, phase.source
    ctx = RuleContext(
        models=phase.models, stack=stack, catalog_dir=path.parent, orphan_versions=phase.orphans
    )
    for finding in run_rules(ctx):
        located = source.problem(finding.path, finding.message)
        problems.append(
            Problem(
                located.file, located.line, located.column, located.path, finding.message, finding.severity
            )
        )
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors or phase.catalog is None:
        raise CatalogError(problems)
    return LoadedCatalog(phase.catalog, source, tuple(p for p in problems if p.severity is Severity.WARNING))


def load_project(
    values: Mapping[str, Any], source: SourceMap, root: Path, catalog: Path | None = None
) -> tuple[StackConfig, LoadedCatalog]:
    """The stack configuration and the catalog validated in one run: an invalid stack file is reported
    together with every catalog error that does not need the stack (raises CatalogError with both)."""
    try:
        stack = parse_stack_config(values, source)
    except CatalogError as stack_error:
        raw = values.get("catalog")
        path = catalog or root / (raw if isinstance(raw, str) else "models.yaml")
        raise CatalogError([*stack_error.problems, *catalog_schema_problems(path)]) from None
    return stack, load_catalog(catalog or root / stack.catalog, stack)


def load_stack_config_or_every_error(root: Path, stack: str, catalog: Path | None = None) -> StackConfig:
    """The stack configuration; when it is invalid, the error also lists the catalog's schema errors."""
    values, source = stack_config_values(root, stack)
    try:
        return parse_stack_config(values, source)
    except CatalogError as stack_error:
        raw = values.get("catalog")
        path = catalog or root / (raw if isinstance(raw, str) else "models.yaml")
        raise CatalogError([*stack_error.problems, *catalog_schema_problems(path)]) from None


def load_stack_and_catalog(
    root: Path, stack: str, catalog: Path | None = None
) -> tuple[StackConfig, LoadedCatalog]:
    """`load_project` from `Pulumi.<stack>.yaml` in `root`."""
    values, source = stack_config_values(root, stack)
    return load_project(values, source, root, catalog)


def stack_file(root: Path, stack: str) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def stack_config_values(root: Path, stack: str) -> tuple[dict[str, Any], SourceMap]:
    """The `modelstack:` keys of `Pulumi.<stack>.yaml` (without the namespace), with their positions."""
    path = stack_file(root, stack)
    data, source = load_yaml(path, _display(path))
    config = (data or {}).get("config") or {}
    if not isinstance(config, dict):
        raise CatalogError([source.problem(("config",), "config must be a mapping of keys to values")])
    prefix = f"{CONFIG_NAMESPACE}:"
    values = {k[len(prefix) :]: v for k, v in config.items() if isinstance(k, str) and k.startswith(prefix)}
    return values, source


def parse_stack_config(values: Mapping[str, Any], source: SourceMap) -> StackConfig:
    """Validate stack configuration values; positions point into `Pulumi.<stack>.yaml`."""
    # Problems are located under `config.modelstack:<key>` and shown as `modelstack:<key>...`.
    try:
        return StackConfig.model_validate(dict(values))
    except ValidationError as exc:
        problems = []
        for p in problems_from(exc, StackConfig, _NamespacedSource(source), ()):
            problems.append(p)
        raise CatalogError(problems) from None


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
    values, source = stack_config_values(root, stack)
    return parse_stack_config(values, source)
