"""Node pools of a stack: where GPU (and CPU) model servers may run."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from components.catalog.base import DnsSubdomain, LabelKey, LabelValue, PoolName, StrictModel
from components.catalog.patterns import Pattern, excerpt, matching
from components.facts.gpus import gpu_by_key, unknown_gpu_message
from components.facts.mig import check_layout, describe_layout, strategy_problems

KIND = Pattern(r"[A-Z][A-Za-z0-9]*")


class MigStrategy(StrEnum):
    NONE = "none"
    SINGLE = "single"
    MIXED = "mixed"


class Provisioner(StrEnum):
    KARPENTER = "karpenter"
    EXISTING = "existing"


class TaintEffect(StrEnum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


class Taint(StrictModel):
    key: LabelKey
    value: LabelValue = ""
    """Kubernetes validates a taint's value like a label value."""
    effect: TaintEffect = TaintEffect.NO_SCHEDULE


GPU_TAINT = Taint(key="nvidia.com/gpu", value="present", effect=TaintEffect.NO_SCHEDULE)


class NodeClassRef(StrictModel):
    group: DnsSubdomain = "karpenter.k8s.aws"
    kind: Annotated[
        str, matching(KIND, lambda v: f"{excerpt(v)} is not a Kubernetes kind — e.g. EC2NodeClass", 63)
    ] = "EC2NodeClass"
    name: DnsSubdomain = "default"


def _canonical(layout: dict[str, int]) -> dict[str, int]:
    """The layout in sorted profile order. A mapping's order is not something the user chose, and the
    Pulumi CLI hands the program its config as JSON with sorted keys: every plan is built from this
    order whatever engine runs the program (messages about the layout keep the user's order)."""
    return dict(sorted(layout.items()))


class NodePool(StrictModel):
    name: PoolName
    gpu: str | None = None
    """GPU model key from the built-in GPU catalog (e.g. `H100-80GB`); omit for a CPU pool."""
    gpus_per_node: int = Field(default=0, ge=0, le=16)
    mig_strategy: MigStrategy = MigStrategy.NONE
    mig_layout: dict[str, int] = {}
    """MIG instances per GPU, e.g. `{3g.40gb: 1, 2g.20gb: 1, 1g.10gb: 2}`; all GPUs of the pool alike."""
    taints: tuple[Taint, ...] | None = None
    """Default for GPU pools: `nvidia.com/gpu=present:NoSchedule`; none for CPU pools."""
    labels: dict[LabelKey, LabelValue] = {}
    zones: tuple[LabelValue, ...] = ()
    """Zones the pool spans; workloads spread across them."""
    min_nodes: int = Field(default=0, ge=0, le=10000)
    max_nodes: int = Field(default=1, ge=1, le=10000)
    provisioner: Provisioner = Provisioner.EXISTING
    instance_types: tuple[LabelValue, ...] = ()
    """Karpenter: instance types the NodePool may launch."""
    node_class: NodeClassRef = NodeClassRef()
    cpu_per_node: float | None = Field(default=None, gt=0, le=100_000)
    memory_gib_per_node: float | None = Field(default=None, gt=0, le=1_000_000)

    # Field validators (not the model validator) so an error lands on the field's own line.
    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, gpu: str | None) -> str | None:
        if gpu is not None and gpu_by_key(gpu) is None:
            raise ValueError(unknown_gpu_message(gpu))
        return gpu

    @field_validator("mig_strategy")
    @classmethod
    def _gpu_supports_mig(cls, strategy: MigStrategy, info: ValidationInfo) -> MigStrategy:
        model = gpu_by_key(info.data.get("gpu") or "")
        if strategy != MigStrategy.NONE and model is not None and not model.mig_capable:
            raise ValueError(
                f"{model.key} does not support MIG — use migStrategy none (whole GPUs, nvidia.com/gpu) "
                "or a MIG-capable GPU"
            )
        return strategy

    @field_validator("mig_layout")
    @classmethod
    def _layout_fits(cls, layout: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        model = gpu_by_key(info.data.get("gpu") or "")
        strategy = info.data.get("mig_strategy")
        if model is None or not model.mig_capable or strategy in (None, MigStrategy.NONE):
            return _canonical(layout)  # reported by the other validators
        pool = info.data.get("name", "?")
        check = check_layout(model, layout)
        if not check.ok:
            raise ValueError(
                f"node pool {pool!r}: migLayout does not fit one {model.key}: {'; '.join(check.problems)}"
            )
        problems = strategy_problems(strategy.value, layout)
        if not any(layout.values()):
            problems = problems or [f"migStrategy {strategy.value} needs at least one MIG instance per GPU"]
        if problems:
            raise ValueError(f"node pool {pool!r}: {describe_layout(layout)}: {'; '.join(problems)}")
        return _canonical(layout)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"minNodes ({self.min_nodes}) is above maxNodes ({self.max_nodes})")
        if self.gpu is None and (
            self.gpus_per_node or self.mig_layout or self.mig_strategy != MigStrategy.NONE
        ):
            raise ValueError("a CPU pool (no `gpu`) cannot set gpusPerNode, migStrategy or migLayout")
        if self.gpu is not None and self.gpus_per_node == 0:
            raise ValueError("a GPU pool needs gpusPerNode ≥ 1")
        if self.mig_strategy == MigStrategy.NONE and self.mig_layout:
            raise ValueError("migLayout needs migStrategy single or mixed")
        if self.mig_strategy != MigStrategy.NONE and not self.mig_layout:
            raise ValueError(f"migStrategy {self.mig_strategy.value} needs a migLayout")
        return self

    @property
    def effective_taints(self) -> tuple[Taint, ...]:
        if self.taints is not None:
            return self.taints
        return (GPU_TAINT,) if self.gpu else ()

    @property
    def pool_label(self) -> tuple[str, str]:
        """The node label that identifies the pool's nodes."""
        return ("modelstack.io/node-pool", self.name)
