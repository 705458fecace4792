"""Cross-field rules that need more than one field, or the stack configuration, to decide.

Each rule is a function `(RuleContext) -> Iterable[Finding]`; `RULES` runs them all, so adding a rule is
adding one function to its module's tuple.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from components.catalog.errors import Finding
from components.validation.rules import core, gpu, images, secrets, workload
from components.validation.rules.autoscaling import AUTOSCALING_RULES
from components.validation.rules.context import RuleContext, Unknown
from components.validation.rules.core import CORE_RULES
from components.validation.rules.gpu import GPU_RULES
from components.validation.rules.images import IMAGE_RULES
from components.validation.rules.quality import QUALITY_RULES
from components.validation.rules.secrets import SECRET_RULES
from components.validation.rules.shards import SHARD_RULES
from components.validation.rules.traffic import TRAFFIC_RULES
from components.validation.rules.workload import WORKLOAD_RULES

Rule = Callable[[RuleContext], Iterable[Finding]]

RULES: tuple[Rule, ...] = (
    *CORE_RULES,
    *AUTOSCALING_RULES,
    *WORKLOAD_RULES,
    *TRAFFIC_RULES,
    *GPU_RULES,
    *IMAGE_RULES,
    *SECRET_RULES,
    *SHARD_RULES,
    *QUALITY_RULES,
)

PER_VERSION_RULES: tuple[Rule, ...] = (
    core.images_pinned_by_digest,
    core.node_pools_exist,
    core.config_references_exist,
    core.fp16_needs_smoke_test,
    core.smoke_tests_have_a_runner,
    gpu.requests_suit_their_pool,
    images.build_contexts_are_pinned,
    images.images_are_reachable_from_the_cluster,
    secrets.no_plain_text_credentials,
    workload.secrets_are_declared,
    workload.config_keys_are_distinct,
)
"""Rules whose findings about a version depend on that version and the stack alone (no other version,
no model field): the only ones run on a version that failed the schema in some of its fields.
tests/upstream/test_errors_across_phases.py checks each against a whole-catalog run."""


def run_rules(ctx: RuleContext, rules: tuple[Rule, ...] = RULES) -> list[Finding]:
    """Every finding of `rules`; a rule that reads an unknown value (see components/validation/partial.py)
    gives none — all or nothing, so no finding rests on a value that failed validation."""
    found: list[Finding] = []
    for rule in rules:
        try:
            found += list(rule(ctx))
        except Unknown:
            continue
    return found


__all__ = ["PER_VERSION_RULES", "RULES", "Rule", "RuleContext", "Unknown", "run_rules"]
