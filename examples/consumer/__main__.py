"""Consumer example: a team's stack that calls one model of a modelstack stack.

It reads the stack's `contract` output through a StackReference (`<org>/modelstack/<stack>` from
config), validated by `components.contract.consumer`, and exports what the team's client needs: the
in-mesh URL, the API flavour, the external URL when there is one, and the queue metric to alert on.
"""

from __future__ import annotations

import pulumi

from components.contract.consumer import model_of, read_contract, stack_name
from components.contract.schema import Contract

config = pulumi.Config()
referenced = stack_name(config.require("org"), config.get("modelstackStack") or "prod")
model_name = config.get("model") or "llm-chat"

modelstack = pulumi.StackReference(referenced)
contract = read_contract(modelstack)


def _client_settings(value: Contract) -> dict[str, object]:
    model = model_of(value, model_name)
    return {
        "api": model.api.value,
        "url": model.mesh.url,
        "externalUrl": model.external.url if model.external else None,
        "queueMetric": model.metrics.queue_metric,
        "versions": sorted(model.versions),
    }


pulumi.export("modelstackSchemaVersion", contract.apply(lambda c: c.schema_version))
pulumi.export("client", contract.apply(_client_settings))
