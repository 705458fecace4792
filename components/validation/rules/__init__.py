"""Cross-field rules that need more than one field, or the stack configuration, to decide.

Each rule is a function `(RuleContext) -> Iterable[Finding]`; `RULES` runs them all, so adding a rule is
adding one function to its module's tuple.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from components.catalog.errors import Finding
from components.validation.rules.autoscaling import AUTOSCALING_RULES
from components.validation.rules.context import RuleContext
from components.validation.rules.core import CORE_RULES
from components.validation.rules.gpu import GPU_RULES
from components.validation.rules.images import IMAGE_RULES
from components.validation.rules.secrets import SECRET_RULES
from components.validation.rules.shards import SHARD_RULES
from components.validation.rules.traffic import TRAFFIC_RULES
from components.validation.rules.workload import WORKLOAD_RULES

Rule = Callable[[RuleContext], Iterable[Finding]]

RULES: tuple[Rule, ...] = (*CORE_RULES, *AUTOSCALING_RULES, *WORKLOAD_RULES, *TRAFFIC_RULES, *GPU_RULES, *IMAGE_RULES, *SECRET_RULES, *SHARD_RULES)


def run_rules(ctx: RuleContext) -> list[Finding]:
    return [finding for rule in RULES for finding in rule(ctx)]


__all__ = ["RULES", "Rule", "RuleContext", "run_rules"]
