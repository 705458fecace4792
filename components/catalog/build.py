"""Images built by the stack: a build context whose base is pinned by digest."""

from __future__ import annotations

from pydantic import Field, field_validator

from components.catalog.base import DIGEST_REF, REGISTRY_PLACEHOLDER, StrictModel


class BuildSpec(StrictModel):
    context: str
    """Build context, relative to the catalog file."""
    dockerfile: str = "Dockerfile"
    """Relative to the context."""
    base: str = Field(pattern=DIGEST_REF.pattern)
    """Base image pinned by digest, passed as build argument `BASE`. A leading `{registry}/` stands for
    the stack's `registry.server` (the base mirrored to each stack's registry under the same digest)."""
    repository: str | None = Field(default=None, pattern=r"^[a-z0-9]+([._/-][a-z0-9]+)*$")
    """Repository under the stack's registry (default `modelstack/<model>`)."""
    platforms: tuple[str, ...] = ("linux/amd64",)
    args: dict[str, str] = {}
    lock_files: tuple[str, ...] = ("requirements.txt",)
    """Files, relative to the context, whose content keys the build cache (a change never reuses layers)."""

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
