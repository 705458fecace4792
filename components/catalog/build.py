"""Images built by the stack: a build context whose base is pinned by digest."""

from __future__ import annotations

from typing import Annotated

from pydantic import field_validator

from components.catalog.base import (
    DIGEST_REF,
    REGISTRY_PLACEHOLDER,
    RelativePath,
    RepositoryPath,
    StrictModel,
)
from components.catalog.patterns import excerpt, matching


def _base_ref(value: str) -> bool:
    # `{registry}/path@sha256:…` is the stack's registry, filled in per stack; the rest is a digest ref.
    spelled = (
        value.replace(f"{REGISTRY_PLACEHOLDER}/", "registry.invalid/", 1)
        if value.startswith(f"{REGISTRY_PLACEHOLDER}/")
        else value
    )
    return DIGEST_REF.matches(spelled)


BaseRef = Annotated[
    str,
    matching(
        _base_ref,
        lambda v: (
            f"{excerpt(v, 80)} is not an image pinned by digest — write [{{registry}}/]repository@sha256:<64 "
            "lower-case hex>"
        ),
        1024,
    ),
]


class BuildSpec(StrictModel):
    context: RelativePath
    """Build context, relative to the catalog file; it must resolve inside the project."""
    dockerfile: RelativePath = "Dockerfile"
    """Relative to the context, inside the project."""
    base: BaseRef
    """Base image pinned by digest, passed as build argument `BASE`. A leading `{registry}/` stands for
    the stack's `registry.server` (the base mirrored to each stack's registry under the same digest)."""
    repository: RepositoryPath | None = None
    """Repository under the stack's registry (default `modelstack/<model>`)."""
    platforms: tuple[str, ...] = ("linux/amd64",)
    args: dict[str, str] = {}
    lock_files: tuple[RelativePath, ...] = ("requirements.txt",)
    """Files, relative to the context and inside the project, whose content keys the build cache (a
    change never reuses layers)."""

    @field_validator("platforms")
    @classmethod
    def _known_platforms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import pulumi_docker_build as docker_build

        known = {p.value for p in docker_build.Platform}
        unknown = [p for p in value if p not in known]
        if unknown:
            raise ValueError(
                f"unknown platform(s) {', '.join(unknown)} — use e.g. linux/amd64 or linux/arm64"
            )
        return value


def resolved_base(build: BuildSpec, registry_server: str) -> str:
    """The base a stack builds from: `{registry}/` replaced by that stack's registry."""
    prefix = REGISTRY_PLACEHOLDER + "/"
    if build.base.startswith(prefix):
        return f"{registry_server}/{build.base[len(prefix) :]}"
    return build.base
