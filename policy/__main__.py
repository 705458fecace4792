"""The modelstack policy pack: `pulumi preview --policy-pack policy`.

The policies live in the `policies` package (importing this module would start the policy host).
"""

from policies import POLICIES
from pulumi_policy import PolicyPack

PolicyPack(
    name="modelstack-guardrails",
    policies=list(POLICIES),
    description="Guardrails of modelstack GPU model-serving stacks (docs/policy.md).",
)
