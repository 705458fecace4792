"""Shared pydantic configuration and field types of the catalog and stack-config schemas."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DIGEST_REF = re.compile(r"^(?P<repo>[^@\s]+)@(?P<digest>sha256:[0-9a-f]{64})$")
DURATION = re.compile(r"^([0-9]+(ms|s|m|h))+$")
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
    """Every catalog object: unknown keys are errors, YAML keys are camelCase, values are frozen."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
    )


def _dns_label(max_len: int) -> AfterValidator:
    def check(value: str) -> str:
        if not DNS1123_LABEL.match(value):
            raise ValueError(
                f"{value!r} is not a DNS-1123 label — use lower-case letters, digits and '-', "
                "starting and ending with a letter or digit"
            )
        if len(value) > max_len:
            raise ValueError(
                f"{value!r} is {len(value)} characters; at most {max_len} fit in the names derived "
                f"from it — shorten it"
            )
        return value

    return AfterValidator(check)


# Model and version names end up in `<model>-<version>` object names and in Istio subset names, both
# DNS-1123 labels of at most 63 characters, and in `<model>-<version>-<hash>` ConfigMap names.
ModelName = Annotated[str, _dns_label(30)]
VersionName = Annotated[str, _dns_label(20)]
PoolName = Annotated[str, _dns_label(40)]
DnsLabel = Annotated[str, _dns_label(63)]


def _duration(value: str) -> str:
    if not DURATION.match(value):
        raise ValueError(f"{value!r} is not a duration — write e.g. '30s', '5m' or '1h30m'")
    return value


Duration = Annotated[str, AfterValidator(_duration)]


def duration_seconds(value: str) -> float:
    """'1h30m' -> 5400.0."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h)", value))
