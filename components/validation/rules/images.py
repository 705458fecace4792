"""Rules of the images issue: a build context whose base and dependencies are pinned, and that exists."""

from __future__ import annotations

from collections.abc import Iterator

from components.catalog.errors import Finding
from components.images.context import context_problems
from components.validation.rules.context import RuleContext


def build_contexts_are_pinned(ctx: RuleContext) -> Iterator[Finding]:
    for name, version, spec in ctx.versions():
        if spec.build is None:
            continue
        where = ("models", name, "versions", version, "build")
        for problem in context_problems(spec.build, ctx.catalog_dir):
            field = (
                "context"
                if problem.line == 0 and problem.file == spec.build.context
                else (
                    "dockerfile" if problem.file == spec.build.dockerfile.rsplit("/", 1)[-1] else "lockFiles"
                )
            )
            location = f"{spec.build.context}/{problem.file}:{problem.line}: " if problem.line else ""
            yield Finding((*where, field), f"{location}{problem.message}")


IMAGE_RULES = (build_contexts_are_pinned,)
