"""`ModelStack`: the catalog on one stack — namespace, node pools and every model, or one shard of them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.autoscaling.adapter import AdapterRules, AdapterRulesArgs
from components.base_reference import BaseReference, BaseReferenceArgs
from components.catalog.catalog import Catalog, served_models
from components.catalog.model import ModelSpec
from components.catalog.stack_config import AutoscalingEngine, KubernetesTarget, StackConfig
from components.gpu.node_pool import GpuNodePool, GpuNodePoolArgs, MigManagerConfig, MigManagerConfigArgs
from components.kubernetes_object import KubernetesObject
from components.served_model import ServedModel, ServedModelArgs
from components.traffic.access import ISTIO_SECURITY, namespace_peer_authentication_manifest
from components.traffic.mesh import namespace_labels


@dataclass(frozen=True)
class ModelStackArgs:
    catalog: Catalog
    stack: StackConfig
    catalog_dir: str
    registry_password: pulumi.Input[str] | None = None
    declared: Collection[str] | None = None
    """The models this run declares (None: every model the stack owns). The stack-wide objects still see
    the whole catalog. The offline engine declares only the models its render cache does not hold: a
    ServedModel's objects depend on nothing but its own catalog entry, the stack configuration and the
    code (`modelstack.engine.render_cache`), so it must only ever be given those."""


def kubernetes_provider(name: str, stack: StackConfig, parent: pulumi.Resource) -> k8s.Provider:
    """The stack's only Kubernetes provider (default providers are disabled in Pulumi.yaml)."""
    opts = pulumi.ResourceOptions(parent=parent)
    if stack.kubernetes.target is KubernetesTarget.RENDER:
        return k8s.Provider(name, render_yaml_to_directory=stack.kubernetes.render_dir, opts=opts)
    return k8s.Provider(name, context=stack.kubernetes.context, opts=opts)


def image_builder(
    name: str, args: ModelStackArgs, parent: pulumi.Resource, served: Mapping[str, ModelSpec]
) -> pulumi.ProviderResource | None:
    """The docker-build provider, only when the stack builds images (the dev quick start needs no Docker)."""
    builds = any(v.build for m in served.values() for v in m.versions.values())
    if not (builds and args.stack.build_images):
        return None
    import pulumi_docker_build as docker_build  # only a stack that builds loads the provider's SDK

    return docker_build.Provider(name, opts=pulumi.ResourceOptions(parent=parent))


def namespace_manifest(stack: StackConfig) -> dict[str, Any]:
    return {
        "metadata": {
            "name": stack.namespace,
            "labels": {
                # Sidecar injection, or ambient enrolment and the namespace's waypoint.
                **namespace_labels(stack.istio),
                # Every pod of the stack must pass the restricted Pod Security Standard.
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "app.kubernetes.io/part-of": "modelstack",
            },
        }
    }


def _retained(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
    return pulumi.ResourceTransformationResult(
        args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(retain_on_delete=True))
    )


class ModelStack(pulumi.ComponentResource):
    """The stack's objects. Unsharded (`shard.role: all`): everything. A `base`: what the models share,
    no model. A `models` shard: its models, on the base's namespace and pools (docs/sharding.md)."""

    models: dict[str, ServedModel]
    served: dict[str, ModelSpec]
    """The models this stack owns, declared in this run or not (`ModelStackArgs.declared`)."""

    def __init__(self, name: str, args: ModelStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelstack:index:ModelStack", name, None, opts)
        shard = args.stack.shard
        provider = kubernetes_provider("kubernetes", args.stack, self)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        if shard.owns_shared:
            namespace = KubernetesObject(
                args.stack.namespace, "v1", "Namespace", namespace_manifest(args.stack), child
            )
            in_namespace = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[namespace])
            # Mutual TLS only, for every workload of the namespace; models then say who may call them.
            self.peer_authentication = KubernetesObject(
                "peer-authentication",
                ISTIO_SECURITY,
                "PeerAuthentication",
                namespace_peer_authentication_manifest(args.stack.namespace),
                in_namespace,
            )
        else:
            assert shard.base is not None  # ShardConfig requires it for role models
            # The base owns the namespace: a shard's objects wait for the deployed base to be checked.
            self.base = BaseReference(
                "base", BaseReferenceArgs(shard.base, args.stack), opts=pulumi.ResourceOptions(parent=self)
            )
            in_namespace = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=self.base.ready)
        served = self.served = served_models(args.catalog, args.stack)
        image_provider = image_builder("docker-build", args, self, served)
        self.node_pools = {}
        if shard.owns_shared:
            # The pools GPU versions land on: Karpenter NodePools, and the MIG layouts the MIG manager applies.
            self.node_pools = {
                pool.name: GpuNodePool(f"pool-{pool.name}", GpuNodePoolArgs(pool), opts=child)
                for pool in args.stack.node_pools
            }
            self.mig_manager = MigManagerConfig(
                "mig-manager", MigManagerConfigArgs(args.stack.node_pools), opts=child
            )
        handed_over = set(shard.hand_over)
        self.models = {
            model_name: ServedModel(
                model_name,
                ServedModelArgs(
                    model_name=model_name,
                    model=model,
                    stack=args.stack,
                    catalog_dir=args.catalog_dir,
                    image_provider=image_provider,
                    registry_password=args.registry_password,
                ),
                # A model being handed to another shard keeps its objects when this stack drops it:
                # the receiving shard adopts them, so the move never deletes what is serving.
                opts=pulumi.ResourceOptions.merge(
                    in_namespace, pulumi.ResourceOptions(transformations=[_retained])
                )
                if model_name in handed_over
                else in_namespace,
            )
            for model_name, model in served.items()
            if args.declared is None or model_name in args.declared
        }
        # prometheus-adapter engine: this stack's rules for its HPAs, a fragment in the adapter's namespace
        # that the platform merges (KEDA needs none: it serves its HPAs' metrics itself). Once per stack;
        # a base's cover the models of all its shards.
        self.adapter_rules = (
            AdapterRules("adapter-rules", AdapterRulesArgs(args.catalog.models, args.stack), opts=child)
            if shard.owns_shared and args.stack.autoscaling.engine is AutoscalingEngine.PROMETHEUS_ADAPTER
            else None
        )
        self.register_outputs({"models": list(self.models)})
