"""Pods of the stack's Python runner image (`smokeRunnerImage`): the smoke-test Jobs and the golden-set
evaluators. One identity and one pair of security contexts, so both pass the restricted Pod Security
Standard the same way."""

from __future__ import annotations

from typing import Any

# Non-root numeric identity: python images run as root by default, which `runAsNonRoot` refuses.
RUNNER_UID = 65532


def runner_pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUNNER_UID,
        "runAsGroup": RUNNER_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def runner_container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
