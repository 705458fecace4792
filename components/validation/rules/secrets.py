"""Rules of credentials: a token written into the catalog is rendered in plain text.

`env[].value`, `config`, `configFiles` and `args` end up in the Deployment and its ConfigMap, which
anyone who may read the namespace (and every render, plan and CI log) can read. A value that looks like a
credential — by its name, or by the shape of well-known token formats — is a located warning, and an
error on stacks that deploy to a cluster. The value itself is never quoted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from components.catalog.errors import Finding, Severity
from components.catalog.stack_config import KubernetesTarget
from components.catalog.version import VersionSpec
from components.validation.rules.context import RuleContext

# The last word of a name that holds a credential (`HF_TOKEN`, `dbPassword`), or its last two words.
_WORDS = {"password", "passwd", "secret", "token", "apikey", "credential", "credentials", "privatekey"}
_PAIRS = {
    ("api", "key"),
    ("access", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("signing", "key"),
    ("client", "secret"),
    ("auth", "token"),
}
# Well-known token formats (prefixes documented by their issuers), a private key, a JWT, and a URL with
# a password in it.
_TOKENS = re.compile(
    r"hf_[A-Za-z0-9]{30,}"
    r"|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}"
    r"|glpat-[A-Za-z0-9_-]{20,}"
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}"
    r"|sk-[A-Za-z0-9_-]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"
    r"|[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@",
    re.ASCII,
)


def _words(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def names_a_credential(name: str) -> bool:
    """`HF_TOKEN`, `db-password`, `apiKey` do; `MAX_TOKENS`, `TOKEN_FILE`, `tokenizer` do not."""
    words = _words(name)
    if not words:
        return False
    return words[-1] in _WORDS or (len(words) > 1 and (words[-2], words[-1]) in _PAIRS)


def _is_reference(value: str) -> bool:
    """A path or a variable reference names where a credential is, not the credential."""
    return not value.strip() or value.startswith(("/", "$(", "${"))


def credential_reason(name: str | None, value: str) -> str | None:
    """Why `value` (set under `name`) looks like a credential, or None."""
    if _TOKENS.search(value):
        return "it has the format of an access token, a key or a URL with a password"
    if name is not None and names_a_credential(name) and not _is_reference(value):
        return f"its name {name[:60]} says so"
    return None


def _in_args(args: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if arg.startswith("-") and eq:
            reason = credential_reason(flag.lstrip("-"), value)
        elif arg.startswith("-") and names_a_credential(arg.lstrip("-")) and i + 1 < len(args):
            following = args[i + 1]
            reason = None if following.startswith("-") else credential_reason(arg.lstrip("-"), following)
            if reason is not None:
                yield i + 1, reason
            continue
        else:
            reason = credential_reason(None, arg)
        if reason is not None:
            yield i, reason


def _version_findings(spec: VersionSpec) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    for i, var in enumerate(spec.env):
        if var.value is not None and (reason := credential_reason(var.name, var.value)):
            yield ("env", i, "value"), reason, "env[].fromSecret or secretFiles"
    for key, value in spec.config.items():
        if reason := credential_reason(key, value):
            yield ("config", key), reason, "secretFiles (or env[].fromSecret)"
    for key, value in spec.config_files.items():
        if reason := credential_reason(None, value):
            yield ("configFiles", key), reason, "secretFiles"
    for i, reason in _in_args(spec.args):
        yield ("args", i), reason, "secretFiles (and a flag that reads the file)"


def no_plain_text_credentials(ctx: RuleContext) -> Iterator[Finding]:
    cluster = ctx.stack.kubernetes.target is KubernetesTarget.CLUSTER
    severity = Severity.ERROR if cluster else Severity.WARNING
    for name, version, spec in ctx.versions():
        for where, reason, instead in _version_findings(spec):
            yield Finding(
                ("models", name, "versions", version, *where),
                f"this looks like a credential written in plain text ({reason}); it would be rendered into "
                f"the pod spec or its ConfigMap, readable by anyone who can read the namespace — keep it in a "
                f"Secret and use {instead}"
                + ("" if cluster else " (an error on stacks that deploy to a cluster)"),
                severity,
            )


SECRET_RULES = (no_plain_text_credentials,)
