"""`GoldenSetEvaluator`: one model's in-cluster golden-set evaluator (objects: components/quality/manifests.py).

Rendered for a model whose `analysis.goldenSet` is set; its series feed the gate's `accuracy-drop` and
`confidence-drift` checks (docs/release-loop.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.autoscaling.monitoring import MONITORING_API
from components.catalog.model import ModelSpec
from components.catalog.stack_config import StackConfig
from components.kubernetes_object import KubernetesObject
from components.quality.manifests import (
    authorization_policy_manifest,
    config_map_manifest,
    deployment_manifest,
    evaluator_files,
    pdb_manifest,
    peer_authentication_manifest,
    pod_monitor_manifest,
    service_account_manifest,
)
from components.traffic.access import ISTIO_SECURITY
from components.traffic.names import golden_evaluator_name


@dataclass(frozen=True)
class GoldenSetEvaluatorArgs:
    model_name: str
    model: ModelSpec
    stack: StackConfig
    catalog_dir: Path
    """`goldenSet.file` is relative to it (the validation rules read and checked the file already)."""


def read_golden_text(model: ModelSpec, catalog_dir: Path) -> str:
    assert model.analysis is not None and model.analysis.golden_set is not None
    return (catalog_dir / model.analysis.golden_set.file).read_text(encoding="utf-8")


class GoldenSetEvaluator(pulumi.ComponentResource):
    deployment: KubernetesObject

    def __init__(
        self, name: str, args: GoldenSetEvaluatorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("modelstack:quality:GoldenSetEvaluator", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        model, stack = args.model_name, args.stack
        runner_image = stack.smoke_runner_image
        if runner_image is None:  # the catalog rules refuse this before anything is registered
            raise ValueError("a goldenSet needs modelstack:smokeRunnerImage")
        base = golden_evaluator_name(model)
        files = evaluator_files(
            model, args.model, stack.namespace, read_golden_text(args.model, args.catalog_dir)
        )
        config = KubernetesObject(base, "v1", "ConfigMap", config_map_manifest(files), child)
        account_manifest = service_account_manifest(model, stack.namespace)
        account = KubernetesObject(base, "v1", "ServiceAccount", account_manifest, child)
        self.deployment = KubernetesObject(
            base,
            "apps/v1",
            "Deployment",
            deployment_manifest(files, args.model, stack, runner_image),
            pulumi.ResourceOptions(parent=self, depends_on=[config, account]),
        )
        KubernetesObject(
            base, "policy/v1", "PodDisruptionBudget", pdb_manifest(model, stack.namespace), child
        )
        KubernetesObject(base, MONITORING_API, "PodMonitor", pod_monitor_manifest(model, stack), child)
        KubernetesObject(
            f"{base}-authorization",
            ISTIO_SECURITY,
            "AuthorizationPolicy",
            authorization_policy_manifest(model, stack),
            child,
        )
        peer = peer_authentication_manifest(model, stack)
        if peer is not None:
            KubernetesObject(f"{base}-peer-authentication", ISTIO_SECURITY, "PeerAuthentication", peer, child)
        self.register_outputs({"deployment": base, "configMap": files.config_map_name})
