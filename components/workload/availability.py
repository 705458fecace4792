"""How a version stays available: disruption budget, spreading, and rollouts that keep capacity."""

from __future__ import annotations

from typing import Any

from components.catalog.model import is_autoscaled
from components.naming import version_labels, version_object_name, version_selector
from components.workload.args import ModelVersionArgs

HOSTNAME_KEY = "kubernetes.io/hostname"
ZONE_KEY = "topology.kubernetes.io/zone"
PROGRESS_MARGIN_SECONDS = 600
"""Beyond the load budget: scheduling, a node from the autoscaler and a multi-GB image pull."""
REVISION_HISTORY_LIMIT = 3
"""A version's image and config never change, so old ReplicaSets only hold pod-spec tweaks."""


def _spread(key: str, args: ModelVersionArgs) -> dict[str, Any]:
    # ScheduleAnyway: GPUs are scarce, and a pending replica serves nobody; spreading is a preference.
    return {
        "maxSkew": 1,
        "topologyKey": key,
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": version_selector(args.model_name, args.version_name)},
    }


def topology_spread_constraints(args: ModelVersionArgs) -> list[dict[str, Any]]:
    """Across nodes always, across zones when the version's pool spans zones."""
    constraints = [_spread(HOSTNAME_KEY, args)]
    if args.pool is not None and args.pool.zones:
        constraints.append(_spread(ZONE_KEY, args))
    return constraints


def rollout_strategy() -> dict[str, Any]:
    """Start the new pod before stopping an old one: capacity never drops, even for one-GPU versions."""
    return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}


def progress_deadline_seconds(args: ModelVersionArgs) -> int:
    return args.version.load_timeout_seconds + PROGRESS_MARGIN_SECONDS


def replica_fields(args: ModelVersionArgs) -> dict[str, Any]:
    """`.spec.replicas` is the HPA's when it owns the version: setting it would fight the autoscaler."""
    if is_autoscaled(args.model, args.version):
        return {}
    return {"replicas": args.version.replicas.min}


def pdb_manifest(args: ModelVersionArgs) -> dict[str, Any]:
    """At most one pod of the version voluntarily disrupted at a time.

    `maxUnavailable: 1` rather than `minAvailable`: with a single replica, `minAvailable: 1` would block
    every node drain forever. `AlwaysAllow` lets a drain evict pods that never became ready (a version
    still loading or crash-looping protects nothing).
    """
    return {
        "metadata": {
            "name": version_object_name(args.model_name, args.version_name),
            "namespace": args.namespace,
            "labels": version_labels(args.model_name, args.version_name),
        },
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": version_selector(args.model_name, args.version_name)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }
