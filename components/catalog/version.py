"""One released version of a model: an immutable image plus how it runs and how much traffic it gets."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field, model_validator

from components.catalog.base import DIGEST_REF, PoolName, StrictModel
from components.catalog.build import BuildSpec
from components.catalog.patterns import DIGEST, FILE_PATH, excerpt
from components.catalog.resources import Resources
from components.catalog.smoke import SmokeTest
from components.catalog.traffic import RouteMatch
from components.catalog.workload import ConfigKey, EnvVar, ModelWeights, Precision, Replicas, SecretFile


def _replicas_shorthand(value: Any) -> Any:
    # `replicas: 2` is a fixed count.
    if isinstance(value, int) and not isinstance(value, bool):
        return {"min": value, "max": value}
    return value


def image_problem(image: str) -> str | None:
    """Why an image reference is not an immutable digest reference, or None when it is."""
    if DIGEST_REF.matches(image):
        return None
    if len(image) > 1024 or not FILE_PATH.matches(image):
        return f"image {excerpt(image)} is not an image reference — write registry/repository@sha256:<64 hex>"
    name, _, digest = image.partition("@")
    if digest and not DIGEST.matches(digest):
        return (
            f"malformed digest {excerpt(digest, 80)} — a digest is 'sha256:' followed by 64 lower-case hex "
            "characters"
        )
    if digest:
        return (
            f"{excerpt(name, 80)} is not an image repository — write [registry[:port]/]path with lower-case "
            "path components (the OCI distribution reference grammar), then @sha256:<digest>"
        )
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        tag = last.split(":", 1)[1]
        moving = " (':latest' moves with every push, so A/B arms silently run different code)"
        return (
            f"image {image!r} uses tag {tag!r} but no digest{moving if tag == 'latest' else ''} — "
            f"pin it as {name.rsplit(':', 1)[0]}@sha256:<digest> (e.g. from `docker buildx imagetools inspect`)"
        )
    return f"image {image!r} has no digest — pin it as {image}@sha256:<digest>"


class VersionSpec(StrictModel):
    image: str | None = None
    """Prebuilt image pinned by digest: `registry/repo@sha256:<64 hex>`. Tags are refused."""
    build: BuildSpec | None = None
    """Build the image in the stack instead (never together with `image`)."""
    weight: int = Field(ge=0, le=100)
    """Share of the model's traffic in percent; a model's weights sum to 100."""
    resources: Resources
    node_pool: PoolName | None = None
    """Node pool of the stack configuration this version runs on (required for GPUs)."""
    replicas: Annotated[Replicas, BeforeValidator(_replicas_shorthand)] = Replicas()
    precision: Precision = Precision.FP32
    load_timeout_seconds: int = Field(default=1200, ge=10, le=7200)
    """Budget for loading the model before the startup probe gives up (default 20 minutes, like NIM)."""
    args: tuple[str, ...] = ()
    config: dict[ConfigKey, str] = {}
    """Key/values in a hashed, immutable ConfigMap; referenced by `env[].fromConfig`."""
    config_files: dict[ConfigKey, str] = {}
    """Files in the same ConfigMap, mounted read-only at `/etc/modelstack/config`."""
    env: tuple[EnvVar, ...] = ()
    secret_files: tuple[SecretFile, ...] = ()
    """Secret keys mounted read-only as files (`path` + `fromSecret`), instead of environment variables."""
    model_weights: ModelWeights | None = None
    smoke_test: SmokeTest | None = None
    """Golden requests run as a Job before traffic moves (required for fp16)."""
    match: tuple[RouteMatch, ...] = ()
    """Requests pinned to this version whatever the weights (sticky A/B)."""

    @model_validator(mode="after")
    def _image_or_build(self) -> Self:
        if (self.image is None) == (self.build is None):
            raise ValueError("a version needs exactly one of image (prebuilt, by digest) or build")
        return self
