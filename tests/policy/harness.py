"""Helpers to run single policies of policy/policies/ on hand-written props, as Pulumi would."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from modelstack.engine.check import load_policies

ROOT = Path(__file__).resolve().parents[2]
DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = f"registry.example.com/llm/server@{DIGEST}"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def policy(name: str) -> ResourceValidationPolicy | StackValidationPolicy:
    return next(p for p in load_policies(ROOT) if p.name == name)


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def resource_violations(
    name: str, resource_type: str, props: dict[str, Any], config: dict[str, Any] | None = None
) -> list[str]:
    found: list[str] = []
    args = ResourceValidationArgs(resource_type, props, "urn:test", "test", _options(), None, config)
    policy(name).validate(args, lambda message, _urn: found.append(message))
    return found


def stack_violations(
    name: str, resources: Sequence[tuple[str, dict[str, Any]]]
) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    policy_resources = [
        PolicyResource(kind, props, f"urn:{i}", str(i), _options(), None, None, [], {})
        for i, (kind, props) in enumerate(resources)
    ]
    policy(name).validate(StackValidationArgs(policy_resources), lambda m, urn: found.append((m, urn)))
    return found


def container() -> dict[str, Any]:
    return {
        "name": "server",
        "image": IMAGE,
        "ports": [{"name": "http", "containerPort": 8000}, {"name": "metrics", "containerPort": 8002}],
        "startupProbe": {"httpGet": {"path": "/v2/health/ready", "port": "http"}},
        "livenessProbe": {"httpGet": {"path": "/v2/health/live", "port": "http"}},
        "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": 8000}},
        "resources": {
            "requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"},
            "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def deployment(name: str = "llm-v1", namespace: str = "ml") -> dict[str, Any]:
    """A Deployment meeting every policy: a GPU model server as modelstack renders it."""
    labels = {"app": "llm", "version": name.rsplit("-", 1)[-1]}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container()],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": labels},
                        }
                    ],
                },
            },
        },
    }


def changed(props: dict[str, Any], change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """A deep copy of `props` with `change` applied to it."""
    copied = copy.deepcopy(props)
    change(copied)
    return copied


def pod(props: dict[str, Any]) -> dict[str, Any]:
    return props["spec"]["template"]["spec"]


def server(props: dict[str, Any]) -> dict[str, Any]:
    return pod(props)["containers"][0]
