"""Shared pydantic configuration and field types of the catalog and stack-config schemas."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from components.catalog.patterns import (
    CONTAINER_PATH,
    DIGEST_REF,
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    DNS1123_SUBDOMAIN_MAX,
    DURATION,
    FILE_PATH,
    HOST,
    LABEL_VALUE,
    LABEL_VALUE_MAX,
    QUALIFIED_NAME_MAX,
    RELATIVE_PATH,
    REPOSITORY_PATH,
    URL_PATH,
    excerpt,
    is_qualified_name,
    matching,
)

__all__ = ["DIGEST_REF", "DNS1123_LABEL", "DURATION", "StrictModel", "duration_seconds"]

REGISTRY_PLACEHOLDER = "{registry}"
"""Stands for the stack's `registry.server` at the start of a build base: one reviewed digest, mirrored to
each stack's registry (a digest names the same content in every registry)."""


def registry_host(reference: str) -> str | None:
    """The registry of an image reference, by Docker's rule (distribution/reference `splitDockerDomain`):
    the first path component is a registry when it contains '.' or ':' or is `localhost`; else Docker Hub."""
    first, slash, _ = reference.partition("/")
    if not slash:
        return None
    return first if ("." in first or ":" in first or first == "localhost") else None


def is_loopback_registry(server: str) -> bool:
    """`localhost`, `*.localhost` (RFC 6761), 127.0.0.0/8, ::1 or 0.0.0.0, with or without a port: reachable
    only from the machine itself, never from a cluster's nodes."""
    import ipaddress

    host = server.split("/", 1)[0]
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


class StrictModel(BaseModel):
    """Every catalog object: unknown keys are errors, YAML keys are camelCase, values are frozen.

    Infinity and NaN are refused everywhere (`.inf` is a YAML float like any other): no quantity, count
    or threshold of a Kubernetes object can be infinite.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        # A field's docstring documents it in the source; copying it into pydantic's description would
        # parse every class's source on import (~20 ms of each run), for nothing that runs reads it.
        allow_inf_nan=False,
    )


def _dns_label(max_len: int) -> AfterValidator:
    def explain(value: str) -> str:
        if DNS1123_LABEL.matches(value):
            return (
                f"{excerpt(value, 70)} is {len(value)} characters; at most {max_len} fit in the names derived "
                f"from it — shorten it"
            )
        return (
            f"{excerpt(value, 70)} is not a DNS-1123 label — use lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )

    return matching(DNS1123_LABEL, explain, max_len)


# Model and version names end up in `<model>-<version>` object names and in Istio subset names, both
# DNS-1123 labels of at most 63 characters, and in `<model>-<version>-<hash>` ConfigMap names.
ModelName = Annotated[str, _dns_label(30)]
VersionName = Annotated[str, _dns_label(20)]
PoolName = Annotated[str, _dns_label(40)]
DnsLabel = Annotated[str, _dns_label(63)]

DnsSubdomain = Annotated[
    str,
    matching(
        DNS1123_SUBDOMAIN,
        lambda v: (
            f"{excerpt(v)} is not a DNS-1123 subdomain — use lower-case letters, digits, '-' and '.' "
            f"(at most {DNS1123_SUBDOMAIN_MAX} characters)"
        ),
        DNS1123_SUBDOMAIN_MAX,
    ),
]
Host = Annotated[
    str,
    matching(
        HOST,
        lambda v: f"{excerpt(v)} is not a host name — use lower-case DNS labels separated by '.'",
        DNS1123_SUBDOMAIN_MAX,
    ),
]
LabelKey = Annotated[
    str,
    matching(
        is_qualified_name,
        lambda v: (
            f"{excerpt(v)} is not a valid label key — write [prefix/]name: an optional DNS-subdomain "
            f"prefix, then at most {QUALIFIED_NAME_MAX} letters, digits, '-', '_' or '.', starting and ending "
            "with a letter or digit"
        ),
    ),
]
LabelValue = Annotated[
    str,
    matching(
        LABEL_VALUE,
        lambda v: (
            f"{excerpt(v)} is not a valid label value — at most {LABEL_VALUE_MAX} letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit (or empty)"
        ),
        LABEL_VALUE_MAX,
    ),
]
UrlPath = Annotated[
    str,
    matching(
        URL_PATH,
        lambda v: f"{excerpt(v)} is not an HTTP path — start with '/' and use printable ASCII without spaces",
        2048,
    ),
]
ContainerPath = Annotated[
    str,
    matching(
        CONTAINER_PATH,
        lambda v: (
            f"{excerpt(v)} is not an absolute path in the container — start with '/' and use "
            "printable ASCII without spaces or ':'"
        ),
        4096,
    ),
]
DigestRef = Annotated[
    str,
    matching(
        DIGEST_REF,
        lambda v: (
            f"{excerpt(v, 80)} is not an image pinned by digest — write registry/repository@sha256:<64 "
            "lower-case hex>"
        ),
        1024,
    ),
]


FilePath = Annotated[
    str,
    matching(
        FILE_PATH, lambda v: f"{excerpt(v)} is not a file path — it is empty or has control characters", 4096
    ),
]
RelativePath = Annotated[
    str,
    matching(
        RELATIVE_PATH,
        lambda v: (
            f"{excerpt(v)} is not a relative path — write it relative to the catalog file, inside the project"
        ),
        4096,
    ),
]


RepositoryPath = Annotated[
    str,
    matching(
        REPOSITORY_PATH,
        lambda v: (
            f"{excerpt(v)} is not a repository path — use lower-case letters and digits, separated "
            "by '.', '_', '-' or '/'"
        ),
        255,
    ),
]


def _duration(value: str) -> str:
    if len(value) > 64 or not DURATION.matches(value):
        raise ValueError(f"{excerpt(value)} is not a duration — write e.g. '30s', '5m' or '1h30m'")
    return value


Duration = Annotated[str, AfterValidator(_duration)]


def duration_seconds(value: str) -> float:
    """'1h30m' -> 5400.0."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h)", value))
