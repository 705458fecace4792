"""`GpuNodePool`: one node pool of the stack config as the cluster sees it, and the stack's MIG-manager config.

- `provisioner: karpenter` renders a `karpenter.sh/v1` NodePool named after the pool: instance types,
  zones and (on AWS node classes) the GPU maker, name and count as requirements; the pool label, the MIG
  config label and the pool's own labels on every node; its taints; `limits` of `maxNodes` nodes; and a
  disruption policy that never evicts a serving GPU node to save money (see docs/gpu.md).
- `provisioner: existing` creates nothing: the nodes exist and must carry the same labels and taints.

Either way the pool's workloads get the same derived constraints (`components.gpu.scheduling`).

`MigManagerConfig` renders the GPU operator's mig-parted ConfigMap once per stack: one named layout per MIG
pool (`modelstack-<pool>`) plus `all-disabled` for whole-GPU pools on MIG-capable GPUs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pulumi
import yaml

from components.catalog.node_pool import NodePool, Provisioner, Taint
from components.facts.mig import mig_config_name, mig_parted_config, mig_parted_document
from components.gpu.scheduling import GPU_PRODUCT_LABEL, is_mig_pool, pool_gpu, product_labels
from components.kubernetes_object import KubernetesObject
from components.naming import PART_OF

KARPENTER_API_VERSION = "karpenter.sh/v1"
AWS_NODE_CLASS_GROUP = "karpenter.k8s.aws"
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
MIG_DISABLED_CONFIG = "all-disabled"
"""The GPU operator's name for "MIG off"; kept in our config so MIG-capable whole-GPU nodes resolve it."""
GPU_OPERATOR_NAMESPACE = "gpu-operator"
MIG_PARTED_CONFIG_MAP = "modelstack-mig-parted-config"
MIG_PARTED_CONFIG_KEY = "config.yaml"

# Node lifetime: replace nodes monthly (patches, AMIs), but give a draining node's pods up to two hours —
# enough for a replacement replica to load its model before the PodDisruptionBudget lets the old one go.
EXPIRE_AFTER = "720h"
TERMINATION_GRACE_PERIOD = "2h"
# GPU nodes take minutes to come up and models minutes to load: keep an empty node a while before removal
# so a rollout or a short dip does not pay that again.
GPU_CONSOLIDATE_AFTER = "30m"
CPU_CONSOLIDATE_AFTER = "5m"
# No voluntary disruption of non-empty GPU nodes (drift replacement) in business hours, Mon–Fri 08:00 UTC
# for 12 h; otherwise one GPU node at a time, so the others keep serving while evicted models reload.
BUSINESS_HOURS_SCHEDULE = "0 8 * * 1-5"
BUSINESS_HOURS_DURATION = "12h"

# AWS's `karpenter.k8s.aws/instance-gpu-name` per GPU family (lower-case model name).
_AWS_GPU_NAMES = {
    "A100": "a100",
    "H100": "h100",
    "H200": "h200",
    "B200": "b200",
    "L4": "l4",
    "L40S": "l40s",
    "T4": "t4",
}


# --- labels and requirements ----------------------------------------------------------------------


def mig_config_label(pool: NodePool) -> str | None:
    """The `nvidia.com/mig.config` value the pool's nodes carry (None when MIG is not the GPU's business)."""
    model = pool_gpu(pool)
    if model is None or not model.mig_capable:
        return None
    return mig_config_name(pool.mig_layout, pool.name) if is_mig_pool(pool) else MIG_DISABLED_CONFIG


def node_labels(pool: NodePool) -> dict[str, str]:
    """Labels every node of the pool carries; workloads select the pool label."""
    key, value = pool.pool_label
    labels = {**pool.labels, key: value}
    mig_config = mig_config_label(pool)
    if mig_config is not None:
        labels[MIG_CONFIG_LABEL] = mig_config
    return labels


def aws_gpu_name(pool: NodePool) -> str | None:
    model = pool_gpu(pool)
    family = model.key.split("-")[0] if model else ""
    return _AWS_GPU_NAMES.get(family)


def _requirement(key: str, values: Sequence[str]) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": list(values)}


def requirements(pool: NodePool) -> list[dict[str, Any]]:
    found = []
    if pool.instance_types:
        found.append(_requirement("node.kubernetes.io/instance-type", pool.instance_types))
    if pool.zones:
        found.append(_requirement("topology.kubernetes.io/zone", pool.zones))
    if pool.gpu is not None and pool.node_class.group == AWS_NODE_CLASS_GROUP:
        found.append(_requirement("karpenter.k8s.aws/instance-gpu-manufacturer", ["nvidia"]))
        gpu_name = aws_gpu_name(pool)
        if gpu_name:
            found.append(_requirement("karpenter.k8s.aws/instance-gpu-name", [gpu_name]))
        found.append(_requirement("karpenter.k8s.aws/instance-gpu-count", [str(pool.gpus_per_node)]))
    products = product_labels(pool)
    if products:
        # GFD writes this label once the node is up; declaring it lets Karpenter provision for pods that
        # require it (Karpenter only launches nodes for labels it knows the node will carry).
        found.append(_requirement(GPU_PRODUCT_LABEL, products))
    return found


def taint_manifest(taint: Taint) -> dict[str, str]:
    body = {"key": taint.key, "effect": taint.effect.value}
    return body | ({"value": taint.value} if taint.value else {})


def _quantity(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{int(value * 1000)}m"


def limits(pool: NodePool) -> dict[str, str]:
    """Karpenter stops launching once the pool's nodes reach `maxNodes` nodes' worth of resources."""
    found = {}
    if pool.gpu is not None:
        found["nvidia.com/gpu"] = str(pool.gpus_per_node * pool.max_nodes)
    if pool.cpu_per_node is not None:
        found["cpu"] = _quantity(Fraction(str(pool.cpu_per_node)) * pool.max_nodes)
    if pool.memory_gib_per_node is not None:
        found["memory"] = f"{_quantity(Fraction(str(pool.memory_gib_per_node)) * pool.max_nodes)}Gi"
    return found


def disruption(pool: NodePool) -> dict[str, Any]:
    if pool.gpu is None:
        return {
            "consolidationPolicy": "WhenEmptyOrUnderutilized",
            "consolidateAfter": CPU_CONSOLIDATE_AFTER,
            "budgets": [{"nodes": "10%"}],
        }
    return {
        # Never bin-pack GPU nodes: that evicts model servers whose reload takes minutes.
        "consolidationPolicy": "WhenEmpty",
        "consolidateAfter": GPU_CONSOLIDATE_AFTER,
        "budgets": [
            {
                "nodes": "0",
                "reasons": ["Drifted"],
                "schedule": BUSINESS_HOURS_SCHEDULE,
                "duration": BUSINESS_HOURS_DURATION,
            },
            {"nodes": "1"},
        ],
    }


def karpenter_node_pool_manifest(pool: NodePool) -> dict[str, Any]:
    """The `karpenter.sh/v1` NodePool (cluster-scoped, named after the pool)."""
    spec_template: dict[str, Any] = {
        "nodeClassRef": {
            "group": pool.node_class.group,
            "kind": pool.node_class.kind,
            "name": pool.node_class.name,
        },
        "requirements": requirements(pool),
        "expireAfter": EXPIRE_AFTER,
        "terminationGracePeriod": TERMINATION_GRACE_PERIOD,
    }
    taints = [taint_manifest(t) for t in pool.effective_taints]
    if taints:
        spec_template["taints"] = taints
    spec: dict[str, Any] = {
        "template": {"metadata": {"labels": node_labels(pool)}, "spec": spec_template},
        "disruption": disruption(pool),
    }
    pool_limits = limits(pool)
    if pool_limits:
        spec["limits"] = pool_limits
    return {
        "metadata": {"name": pool.name, "labels": {"app.kubernetes.io/part-of": PART_OF}},
        "spec": spec,
    }


# --- mig-parted -----------------------------------------------------------------------------------


def mig_parted_config_document(pools: Sequence[NodePool]) -> dict[str, object] | None:
    """The mig-parted config of every MIG pool (None when the stack has none)."""
    mig_pools = [pool for pool in pools if is_mig_pool(pool)]
    if not mig_pools:
        return None
    disabled = {MIG_DISABLED_CONFIG: [{"devices": "all", "mig-enabled": False}]}
    configs = [
        mig_parted_config(pool.mig_layout, mig_config_name(pool.mig_layout, pool.name)) for pool in mig_pools
    ]
    return mig_parted_document(disabled, *configs)


def mig_parted_config_map_manifest(document: dict[str, object]) -> dict[str, Any]:
    return {
        "metadata": {
            "name": MIG_PARTED_CONFIG_MAP,
            "namespace": GPU_OPERATOR_NAMESPACE,
            "labels": {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/component": "mig-manager"},
        },
        "data": {MIG_PARTED_CONFIG_KEY: yaml.safe_dump(document, sort_keys=False)},
    }


# --- components -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuNodePoolArgs:
    pool: NodePool


class GpuNodePool(pulumi.ComponentResource):
    """One node pool: a Karpenter NodePool when Karpenter provisions it, nothing for existing nodes."""

    pool: NodePool
    node_pool: KubernetesObject | None

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelstack:gpu:GpuNodePool", name, None, opts)
        self.pool = args.pool
        self.node_pool = None
        if args.pool.provisioner is Provisioner.KARPENTER:
            self.node_pool = KubernetesObject(
                f"nodepool-{args.pool.name}",
                KARPENTER_API_VERSION,
                "NodePool",
                karpenter_node_pool_manifest(args.pool),
                pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs(
            {
                "pool": args.pool.name,
                "provisioner": args.pool.provisioner.value,
                "nodeLabels": node_labels(args.pool),
            }
        )


@dataclass(frozen=True)
class MigManagerConfigArgs:
    pools: tuple[NodePool, ...]


class MigManagerConfig(pulumi.ComponentResource):
    """The mig-parted ConfigMap the GPU operator's MIG manager applies by node label (once per stack)."""

    config_map: KubernetesObject | None

    def __init__(
        self, name: str, args: MigManagerConfigArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("modelstack:gpu:MigManagerConfig", name, None, opts)
        document = mig_parted_config_document(args.pools)
        self.config_map = None
        if document is not None:
            self.config_map = KubernetesObject(
                MIG_PARTED_CONFIG_MAP,
                "v1",
                "ConfigMap",
                mig_parted_config_map_manifest(document),
                pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"configMap": MIG_PARTED_CONFIG_MAP if document is not None else None})
