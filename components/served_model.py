"""`ServedModel`: one model of the catalog with all of its versions and its shared policies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.autoscaling.monitoring import ModelObservability, ModelObservabilityArgs
from components.catalog.build import BuildSpec
from components.catalog.model import ModelSpec
from components.catalog.stack_config import StackConfig
from components.images.model_image import ModelImage, ModelImageArgs
from components.quality.evaluator import GoldenSetEvaluator, GoldenSetEvaluatorArgs
from components.traffic.policy import TrafficPolicy, TrafficPolicyArgs
from components.traffic.smoke_gate import SmokeGate, SmokeGateArgs
from components.workload.identity import model_service_account
from components.workload.model_version import ModelVersion, ModelVersionArgs


@dataclass(frozen=True)
class ServedModelArgs:
    model_name: str
    model: ModelSpec
    stack: StackConfig
    catalog_dir: str
    image_provider: pulumi.ProviderResource | None = None
    """docker-build provider for `build:` versions (default providers are disabled)."""
    registry_password: pulumi.Input[str] | None = None


class ServedModel(pulumi.ComponentResource):
    versions: dict[str, ModelVersion]
    smoke_gate: SmokeGate | None
    """Only for a model with smoke tests: an empty component per model would cost every render."""
    golden_set_evaluator: GoldenSetEvaluator | None
    """Only for a model with `analysis.goldenSet`."""

    def __init__(self, name: str, args: ServedModelArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelstack:index:ServedModel", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # One identity per model, shared by its versions (callers authorize the model, not a version).
        self.service_account = model_service_account(args.model_name, args.stack.namespace, child)
        version_opts = pulumi.ResourceOptions(parent=self, depends_on=[self.service_account])
        self.versions = {}
        for version_name, version in args.model.versions.items():
            image: pulumi.Input[str] = version.image or self._build(name, version_name, version.build, args)
            self.versions[version_name] = ModelVersion(
                f"{name}-{version_name}",
                ModelVersionArgs(
                    model_name=args.model_name,
                    version_name=version_name,
                    model=args.model,
                    version=version,
                    stack=args.stack,
                    namespace=args.stack.namespace,
                    image=image,
                ),
                opts=version_opts,
            )
        self.observability = ModelObservability(
            name, ModelObservabilityArgs(args.model_name, args.model, args.stack), opts=child
        )
        # Traffic moves only once every version is ready and every smoke test passed (docs/traffic-and-releases.md).
        self.smoke_gate = None
        if any(version.smoke_test for version in args.model.versions.values()):
            self.smoke_gate = SmokeGate(
                name,
                SmokeGateArgs(
                    args.model_name,
                    args.model,
                    args.stack,
                    deployments={v: mv.deployment for v, mv in self.versions.items()},
                    images={v: mv.image for v, mv in self.versions.items()},
                ),
                opts=child,
            )
        self.golden_set_evaluator = None
        if args.model.analysis is not None and args.model.analysis.golden_set is not None:
            self.golden_set_evaluator = GoldenSetEvaluator(
                name,
                GoldenSetEvaluatorArgs(args.model_name, args.model, args.stack, Path(args.catalog_dir)),
                opts=child,
            )
        jobs = self.smoke_gate.jobs if self.smoke_gate else []
        gates = [*(mv.deployment for mv in self.versions.values()), *jobs]
        self.traffic = TrafficPolicy(
            name, TrafficPolicyArgs(args.model_name, args.model, args.stack, gates=gates), opts=child
        )
        self.register_outputs({"versions": list(self.versions)})

    def _build(
        self, name: str, version_name: str, build: BuildSpec | None, args: ServedModelArgs
    ) -> pulumi.Output[str]:
        assert build is not None  # the schema requires image or build
        image = ModelImage(
            f"{name}-{version_name}",
            ModelImageArgs(
                model_name=args.model_name,
                version_name=version_name,
                build=build,
                stack=args.stack,
                catalog_dir=Path(args.catalog_dir),
                registry_password=args.registry_password,
            ),
            provider=args.image_provider,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return image.image_ref
