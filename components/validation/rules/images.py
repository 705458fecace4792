"""Rules of the images issue: a build context whose base and dependencies are pinned, and that exists."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic.alias_generators import to_snake

from components.catalog.base import is_loopback_registry, registry_host
from components.catalog.build import resolved_base
from components.catalog.errors import Finding, Severity
from components.catalog.stack_config import KubernetesTarget
from components.images.context import context_problems
from components.validation.rules.context import RuleContext


def build_contexts_are_pinned(ctx: RuleContext) -> Iterator[Finding]:
    for name, version, spec in ctx.versions():
        if spec.build is None:
            continue
        where = ("models", name, "versions", version, "build")
        unchecked = spec.build.unchecked
        for problem in context_problems(spec.build, ctx.catalog_dir, ctx.project_dir):
            location = f"{spec.build.context}/{problem.file}:{problem.line}: " if problem.line else ""
            reason = getattr(unchecked, to_snake(problem.check), None) if problem.check else None
            if reason is None:
                yield Finding((*where, problem.field or "context"), f"{location}{problem.message}")
            else:
                yield Finding(
                    (*where, problem.field or "context"),
                    f"{location}{problem.message} (allowed by build.unchecked.{problem.check}: {reason!r})",
                    Severity.WARNING,
                )


def images_are_reachable_from_the_cluster(ctx: RuleContext) -> Iterator[Finding]:
    """A stack that deploys to a cluster cannot pull or build from a loopback registry (the node's or the
    builder's own address); render stacks keep them for local work."""
    if ctx.stack.kubernetes.target is not KubernetesTarget.CLUSTER:
        return
    for name, version, spec in ctx.versions():
        where = ("models", name, "versions", version)
        refs: list[tuple[tuple[str, ...], str]] = []
        if spec.image is not None:
            refs.append((("image",), spec.image))
        if spec.build is not None:
            refs.append((("build", "base"), resolved_base(spec.build, ctx.stack.registry.server)))
        if spec.model_weights is not None and spec.model_weights.image is not None:
            refs.append((("modelWeights", "image"), spec.model_weights.image))
        for field, ref in refs:
            host = registry_host(ref)
            if host is not None and is_loopback_registry(host):
                yield Finding(
                    (*where, *field),
                    f"{ref!r} is in the loopback registry {host}, which a cluster's nodes and builders do "
                    "not reach — use a registry the cluster reaches (for a build base, "
                    "`{registry}/<repo>@sha256:…` follows each stack's registry.server)",
                )


IMAGE_RULES = (build_contexts_are_pinned, images_are_reachable_from_the_cluster)
