"""Images by digest: every container of a workload runs an image pinned by `@sha256:`, so a tag cannot move under a released version."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationPolicy,
)

from .props import (
    DIGEST_REF,
    containers,
    dig,
    items,
    pod_policy,
)


def digest_problems(
    _type: str, props: Mapping[str, Any], spec: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterator[str]:
    for kind, container in containers(spec):
        image = str(container.get("image") or "")
        if not DIGEST_REF.fullmatch(image):
            yield (
                f"The {kind} {container.get('name')!r} uses image {image!r}, which is not pinned by digest. "
                "Reference it as repo@sha256:<digest> so that every replica and every rollback runs the same bits."
            )
    for volume in items(spec.get("volumes")):
        reference = str(dig(volume, "image", "reference") or "")
        if dig(volume, "image") is not None and not DIGEST_REF.fullmatch(reference):
            yield (
                f"The image volume {volume.get('name')!r} uses {reference!r}, which is not pinned by digest. "
                "Reference it as repo@sha256:<digest>."
            )


images_by_digest = ResourceValidationPolicy(
    name="images-by-digest",
    description="Every container image and image volume is referenced by digest (repo@sha256:…), never by tag.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=pod_policy(digest_problems),
)
