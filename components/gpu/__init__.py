"""GPU capacity over validated catalog objects: pod scheduling, the capacity plan, GPU NodePools, and a
read-only NVML inventory. The GPU catalog and MIG layouts themselves are facts (`components.facts`),
re-exported here for the components that use them."""

from components.facts.gpus import (
    GpuModel,
    MigProfile,
    all_gpus,
    gpu_by_key,
    gpu_by_product,
    gpu_keys,
)
from components.facts.mig import (
    Layout,
    LayoutCheck,
    MigStrategy,
    Placement,
    check_layout,
    mig_config_name,
    mig_parted_config,
    mig_parted_document,
    resource_name,
    single_strategy_problems,
    single_strategy_product_label,
    single_strategy_product_labels,
    strategy_problems,
)

__all__ = [
    "GpuModel",
    "Layout",
    "LayoutCheck",
    "MigProfile",
    "MigStrategy",
    "Placement",
    "all_gpus",
    "check_layout",
    "gpu_by_key",
    "gpu_by_product",
    "gpu_keys",
    "mig_config_name",
    "mig_parted_config",
    "mig_parted_document",
    "resource_name",
    "single_strategy_problems",
    "single_strategy_product_label",
    "single_strategy_product_labels",
    "strategy_problems",
]
