"""GPU capacity: the GPU catalog, MIG layout validation and naming, and a read-only NVML inventory."""

from components.gpu.catalog import (
    GpuModel,
    MigProfile,
    all_gpus,
    gpu_by_key,
    gpu_by_product,
    gpu_keys,
)
from components.gpu.mig import (
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
