"""Rules of the workload issue: what would otherwise only fail when a pod starts (or never starts)."""

from __future__ import annotations

from collections.abc import Iterator
from posixpath import normpath

from components.catalog.errors import Finding
from components.catalog.model import ModelSpec
from components.catalog.patterns import CONTAINER_PATH, excerpt
from components.catalog.server import server_env
from components.catalog.version import VersionSpec
from components.validation.rules.context import RuleContext

# Kept in step with components/workload (the catalog must not import the Pulumi components).
CONFIG_MOUNT_PATH = "/etc/modelstack/config"
WEIGHTS_ENV = "MODEL_WEIGHTS_PATH"


def _version_path(model: str, version: str, *rest: str | int) -> tuple[str | int, ...]:
    return ("models", model, "versions", version, *rest)


def _inside(path: str, parent: str) -> bool:
    """`path` is `parent` or below it."""
    path, parent = normpath(path), normpath(parent)
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def config_keys_are_distinct(ctx: RuleContext) -> Iterator[Finding]:
    """`config` and `configFiles` share one ConfigMap, so a key may be in only one of them."""
    for name, version, spec in ctx.versions():
        for key in sorted(set(spec.config) & set(spec.config_files)):
            yield Finding(
                _version_path(name, version, "configFiles", key),
                f"{key!r} is both a config key and a config file; they share one ConfigMap — rename one",
            )


def _injected_env(model: ModelSpec, spec: VersionSpec) -> dict[str, str]:
    """Variables the workload sets itself, with the catalog field they come from."""
    preset = model.server_preset
    injected = {name: "precision" for name in server_env(preset, spec.precision)}
    if preset.port_env is not None:
        injected[preset.port_env] = "serverOverrides.port"
    if spec.model_weights is not None:
        injected[WEIGHTS_ENV] = "modelWeights.mountPath"
    return injected


def env_names_are_unique(ctx: RuleContext) -> Iterator[Finding]:
    """A repeated variable silently keeps the last value; one the workload injects would be overridden."""
    for name, model in ctx.models.items():
        for version, spec in model.versions.items():
            injected = _injected_env(model, spec)
            seen: set[str] = set()
            for i, var in enumerate(spec.env):
                where = _version_path(name, version, "env", i, "name")
                if var.name in injected:
                    yield Finding(
                        where,
                        f"{var.name} is set by modelstack from `{injected[var.name]}` — set that field "
                        "instead of the variable",
                    )
                elif var.name in seen:
                    yield Finding(where, f"{var.name} is set twice — keep one entry")
                seen.add(var.name)


def writable_paths_are_absolute(ctx: RuleContext) -> Iterator[Finding]:
    for name, model in ctx.models.items():
        paths = model.server_overrides.writable_paths if model.server_overrides else None
        for i, path in enumerate(paths or ()):
            if not CONTAINER_PATH.matches(path) or len(path) > 4096:
                yield Finding(
                    ("models", name, "serverOverrides", "writablePaths", i),
                    f"{excerpt(path)} is not an absolute path — write e.g. /tmp or /home/model/.cache "
                    "(printable ASCII, no spaces or ':')",
                )
            elif path in paths[:i]:  # type: ignore[index]
                yield Finding(
                    ("models", name, "serverOverrides", "writablePaths", i), f"{path} is listed twice"
                )


def weights_mount_is_free(ctx: RuleContext) -> Iterator[Finding]:
    """The read-only weights may not cover a writable directory or the config files (their mount points
    could not be created in a read-only volume), nor be hidden under one of the same path."""
    for name, model in ctx.models.items():
        writable = model.server_preset.writable_paths
        for version, spec in model.versions.items():
            if spec.model_weights is None:
                continue
            weights = spec.model_weights.mount_path
            others = [*writable, *([CONFIG_MOUNT_PATH] if spec.config_files else [])]
            clash = next((p for p in others if _inside(p, weights) or normpath(p) == normpath(weights)), None)
            if clash is not None:
                yield Finding(
                    _version_path(name, version, "modelWeights", "mountPath"),
                    f"the read-only weights at {weights} would cover {clash}, which the server needs "
                    "writable or holds the config files — mount the weights elsewhere, e.g. /models",
                )


def secrets_are_declared(ctx: RuleContext) -> Iterator[Finding]:
    """A `fromSecret` naming a Secret or key the stack does not declare would crash-loop the pod
    (CreateContainerConfigError): refused at preview like a missing `fromConfig` key."""
    declared = ctx.stack.secrets
    for name, version, spec in ctx.versions():
        refs = [
            (("env", i), var.from_secret) for i, var in enumerate(spec.env) if var.from_secret is not None
        ]
        refs += [(("secretFiles", i), file.from_secret) for i, file in enumerate(spec.secret_files)]
        for at, ref in refs:
            where = _version_path(name, version, *at, "fromSecret")
            if ref.name not in declared:
                known = ", ".join(sorted(declared)) or "none"
                yield Finding(
                    (*where, "name"),
                    f"Secret {ref.name!r} is not declared by the stack (declared: {known}) — add "
                    f"`modelstack:secrets: {{{ref.name}: [{ref.key}]}}` to the stack file once the Secret exists",
                )
            elif ref.key not in declared[ref.name]:
                yield Finding(
                    (*where, "key"),
                    f"Secret {ref.name!r} has no key {ref.key!r} in the stack's declaration "
                    f"(keys: {', '.join(declared[ref.name]) or 'none'}) — fix the key or declare it",
                )


def _overlap(a: str, b: str) -> bool:
    return _inside(a, b) or _inside(b, a)


def secret_files_have_their_own_directory(ctx: RuleContext) -> Iterator[Finding]:
    """A directory of secret files is one Secret volume: one Secret per directory, one key per file name,
    and no other mount above, at or below it (one would hide the other)."""
    for name, model in ctx.models.items():
        writable = model.server_preset.writable_paths
        for version, spec in model.versions.items():
            others = [*writable, *([CONFIG_MOUNT_PATH] if spec.config_files else [])]
            if spec.model_weights is not None:
                others.append(spec.model_weights.mount_path)
            secret_of: dict[str, str] = {}
            paths: set[str] = set()
            for i, file in enumerate(spec.secret_files):
                where = _version_path(name, version, "secretFiles", i)
                first = secret_of.setdefault(file.directory, file.from_secret.name)
                clash = next((p for p in others if _overlap(p, file.directory)), None)
                if normpath(file.path) in paths:
                    yield Finding((*where, "path"), f"{file.path} is listed twice — keep one entry")
                elif first != file.from_secret.name:
                    yield Finding(
                        (*where, "fromSecret", "name"),
                        f"{file.directory} already holds files of Secret {first!r}; a directory is one Secret "
                        "volume — put this file in another directory",
                    )
                elif clash is not None:
                    yield Finding(
                        (*where, "path"),
                        f"{file.directory} overlaps the mount at {clash} — put secret files in a directory "
                        "of their own, e.g. /var/run/secrets/<name>",
                    )
                paths.add(normpath(file.path))
            others_dirs = {f.directory for f in spec.secret_files}
            for directory in sorted(others_dirs):
                nested = next((d for d in others_dirs if d != directory and _inside(d, directory)), None)
                if nested is not None:
                    yield Finding(
                        _version_path(name, version, "secretFiles"),
                        f"secret directory {nested} is inside secret directory {directory} — use sibling "
                        "directories",
                    )


WORKLOAD_RULES = (
    secrets_are_declared,
    config_keys_are_distinct,
    env_names_are_unique,
    writable_paths_are_absolute,
    weights_mount_is_free,
    secret_files_have_their_own_directory,
)
