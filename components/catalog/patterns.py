"""The one way a catalog or stack-config value is matched against a format: the whole value, ASCII only.

`re.match(r"^[a-z]+$", "ml\\n")` succeeds (`$` also matches before a final newline, and `match` anchors
only the start), `\\d` and `\\w` accept other scripts' digits and letters, and `re.IGNORECASE` folds the
Kelvin sign into `k`. Every hand-written format check goes through `Pattern.matches`, which avoids all
three: `fullmatch`, `re.ASCII`, and only `str` values. pydantic's `Field(pattern=…)` is not used for the
same reason (its engine, and with it the meaning of `$`, depends on the pattern's features).

The formats themselves are the upstream ones, cited where they are defined: Kubernetes'
`k8s.io/apimachinery/pkg/util/validation` (v1.33) and the OCI distribution reference grammar
(`github.com/distribution/reference`, v0.6.0).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic import AfterValidator


class Pattern:
    """A format a whole value must have."""

    __slots__ = ("_regex",)

    def __init__(self, regex: str, flags: int = 0) -> None:
        self._regex = re.compile(regex, flags | re.ASCII)

    @property
    def pattern(self) -> str:
        return self._regex.pattern

    def fullmatch(self, value: object) -> re.Match[str] | None:
        return self._regex.fullmatch(value) if isinstance(value, str) else None

    def matches(self, value: object) -> bool:
        return self.fullmatch(value) is not None


def matching(
    pattern: Pattern | Callable[[str], bool], explain: Callable[[str], str], max_length: int | None = None
) -> AfterValidator:
    """A pydantic validator: the value has `pattern` (a Pattern or a predicate) and at most `max_length`
    characters, or a ValueError whose message is `explain(value)`."""
    accepts = pattern.matches if isinstance(pattern, Pattern) else pattern

    def check(value: str) -> str:
        if (max_length is not None and len(value) > max_length) or not accepts(value):
            raise ValueError(explain(value))
        return value

    return AfterValidator(check)


def excerpt(text: str, limit: int = 40) -> str:
    """`text` quoted for a message, cut to `limit` characters: errors quote input, they never dump it
    (a file named by mistake may hold credentials, and a value may be megabytes long)."""
    cut = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(cut)


# Kubernetes: IsDNS1123Label / IsDNS1123Subdomain / IsQualifiedName / IsValidLabelValue / IsConfigMapKey.
_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = Pattern(_LABEL)
DNS1123_SUBDOMAIN = Pattern(rf"{_LABEL}(?:\.{_LABEL})*")
DNS1123_SUBDOMAIN_MAX = 253
_NAME = r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
QUALIFIED_NAME = Pattern(rf"(?:(?P<prefix>{_LABEL}(?:\.{_LABEL})*)/)?(?P<name>{_NAME})")
QUALIFIED_NAME_MAX = 63


def is_qualified_name(value: object) -> bool:
    """A label, annotation or taint key: `[prefix/]name`, with Kubernetes' length limit on each part."""
    match = QUALIFIED_NAME.fullmatch(value)
    if match is None or len(match["name"]) > QUALIFIED_NAME_MAX:
        return False
    return match["prefix"] is None or len(match["prefix"]) <= DNS1123_SUBDOMAIN_MAX


LABEL_VALUE = Pattern(rf"(?:{_NAME})?")
LABEL_VALUE_MAX = 63
CONFIG_MAP_KEY = Pattern(r"[-._a-zA-Z0-9]+")


def config_map_key_problem(value: str) -> str | None:
    """Why `value` cannot be a ConfigMap or Secret key (IsConfigMapKey), or None."""
    if len(value) > DNS1123_SUBDOMAIN_MAX or not CONFIG_MAP_KEY.matches(value):
        return "use letters, digits, '-', '_' and '.' (at most 253)"
    # The kubelet's atomic writer keeps its own '..data' and '..<timestamp>' entries in every mounted
    # ConfigMap or Secret volume, so the API server refuses these.
    if value in (".", "..") or value.startswith(".."):
        return "it may not be '.' or '..' nor start with '..' (the kubelet reserves those names)"
    return None


# OCI distribution reference: [domain[:port]/]path[:tag]@sha256:<64 hex>.
_DOMAIN = (
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
)
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
REPOSITORY = Pattern(_REPOSITORY)
DIGEST = Pattern(r"sha256:[0-9a-f]{64}")
DIGEST_REF = Pattern(
    rf"(?P<repo>{_REPOSITORY}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?)@(?P<digest>sha256:[0-9a-f]{{64}})"
)
REPOSITORY_PATH = Pattern(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")

ENV_NAME = Pattern(r"[A-Za-z_][A-Za-z0-9_]*")
DURATION = Pattern(r"(?:[0-9]+(?:ms|s|m|h))+")
QUANTITY = Pattern(r"(?P<number>[0-9]+(?:\.[0-9]+)?)(?P<suffix>m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")
MIG_PROFILE = Pattern(r"[0-9]g\.[0-9]+gb(?:\+me)?")
# A path on an HTTP endpoint, as Kubernetes probes and Istio routes take it: printable ASCII, no spaces.
URL_PATH = Pattern(r"/[!-~]*")
# A file-system path in a container: absolute, printable ASCII without spaces or ':' (volume syntax).
CONTAINER_PATH = Pattern(r"/[!-9;-~]*")
# A path on the machine that runs modelstack, as the catalog or the stack names it: no control characters.
FILE_PATH = Pattern(r"[^\x00-\x1f\x7f]+")
RELATIVE_PATH = Pattern(r"[^/\x00-\x1f\x7f][^\x00-\x1f\x7f]*")
# A registry: host[:port], as the distribution reference grammar has it.
REGISTRY = Pattern(_DOMAIN)
HOST = Pattern(rf"{_LABEL}(?:\.{_LABEL})*")
NAMESPACED_NAME = Pattern(rf"(?P<namespace>{_LABEL})/(?P<name>{_LABEL}(?:\.{_LABEL})*)")
# The Prometheus a scaler queries: http(s)://host[:port][/path], a base URL with no query or fragment.
PROMETHEUS_URL = Pattern(rf"https?://{_DOMAIN}(?:/[-._~A-Za-z0-9/]*)?")
# Pulumi stack names: letters, digits, '-', '_' and '.'; they name a file, so never a path.
STACK_NAME = Pattern(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
