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


def _reason(value: str) -> bool:
    return len(value.strip()) >= 10 and value.isprintable()


Reason = Annotated[
    str,
    matching(
        _reason,
        lambda v: f"{excerpt(v, 40)} is not a reason — write one line of at least 10 characters saying why",
        300,
    ),
]


class UncheckedBuild(StrictModel):
    """Build-context checks one version opts out of, each with the reason its reviewers read. A check
    opted out of still runs: what it finds is reported as a warning, with the reason."""

    hashes: Reason | None = None
    """Requirements without `--hash` in lock files, `pip install -r` without `--require-hashes`, and
    exact pins on a `pip install` command line (which cannot carry a hash)."""
    pip_installs: Reason | None = None
    """`pip install` of a requirement that is not pinned by a lock file of `lockFiles`: unpinned names,
    variables, editable installs, local files with their dependencies, `-r` of a file not traced to the
    context."""
    copy_from: Reason | None = None
    """`COPY --from` and `RUN --mount=…,from=` of an image not pinned by digest (a build stage is fine)."""


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
    change never reuses layers). Every requirement in them is `name==exact.version` with `--hash`, and
    every `pip install -r` of the Dockerfile installs one of them."""
    unchecked: UncheckedBuild = UncheckedBuild()
    """Checks of the build context this version opts out of (docs/input-safety.md, "Build contexts")."""

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
