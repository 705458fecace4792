"""Rules of the traffic issue: hosts and derived names that must not collide, routes that make sense."""

from __future__ import annotations

from collections.abc import Iterator

from components.catalog.errors import Finding
from components.validation.rules.context import RuleContext


def exposed_hosts_are_unique(ctx: RuleContext) -> Iterator[Finding]:
    seen: dict[str, str] = {}
    for name, model in ctx.models.items():
        if model.expose is None:
            continue
        host = model.expose.host or f"{name}.{ctx.stack.istio.domain}"
        if host in seen:
            yield Finding(
                ("models", name, "expose"),
                f"host {host} is already exposed by model {seen[host]} — the gateway cannot route one host "
                "to two models; set expose.host to another name",
            )
        seen.setdefault(host, name)


def derived_names_are_unique(ctx: RuleContext) -> Iterator[Finding]:
    """`<model>` Services and ServiceAccounts must not meet `<model>-<version>` or `<model>-smoke` ones."""
    owners: dict[str, str] = {}
    for name, model in ctx.models.items():
        owners.update({f"{name}-{version}": f"the Service of {name}/{version}" for version in model.versions})
        if any(v.smoke_test is not None for v in model.versions.values()):
            owners[f"{name}-smoke"] = f"the smoke-test ServiceAccount of {name}"
    for name in ctx.models:
        if name in owners:
            yield Finding(
                ("models", name),
                f"model name {name!r} is also the name of {owners[name]} — rename the model",
            )


def mirror_is_not_the_only_destination(ctx: RuleContext) -> Iterator[Finding]:
    for name, model in ctx.models.items():
        mirror = model.traffic.mirror
        target = model.versions.get(mirror.version) if mirror else None
        if mirror is not None and target is not None and target.weight == 100:
            yield Finding(
                ("models", name, "traffic", "mirror", "version"),
                f"{mirror.version} already receives all traffic; mirroring to it would send it every request "
                "twice — mirror to a version with less weight (usually the next one, at weight 0)",
            )


def retries_name_failure_modes(ctx: RuleContext) -> Iterator[Finding]:
    for name, model in ctx.models.items():
        retries = model.traffic.retries
        if retries.attempts > 0 and not retries.retry_on:
            yield Finding(
                ("models", name, "traffic", "retries", "retryOn"),
                "retries without retryOn would fall back to Istio's defaults, which retry requests the model "
                "already worked on — list the failure modes (e.g. [connect-failure, refused-stream]) or set "
                "attempts: 0",
            )


def gateway_account_is_qualified(ctx: RuleContext) -> Iterator[Finding]:
    account = ctx.stack.istio.gateway_service_account
    namespace, _, name = account.partition("/")
    if namespace and name and "/" not in name:
        return
    for model_name, model in ctx.models.items():
        if model.expose is not None:
            yield Finding(
                ("models", model_name, "expose"),
                f"the stack's istio.gatewayServiceAccount {account!r} is not <namespace>/<serviceaccount>, so "
                "the gateway cannot be allowed to call this model — fix it in Pulumi.<stack>.yaml",
            )


TRAFFIC_RULES = (
    exposed_hosts_are_unique,
    derived_names_are_unique,
    mirror_is_not_the_only_destination,
    retries_name_failure_modes,
    gateway_account_is_qualified,
)
