"""A small project with one pool of every kind — whole GPUs, MIG `mixed`, MIG `single`, CPU — that tests
render as is or mutate one line at a time."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STACK_NAME = "gpus"
DIGEST = "617463c1965054fa4390857246a0cfc920baa61a012021f247ea76efca038a4b"

STACK = """\
config:
  modelstack:namespace: ml-gpu-test
  modelstack:kubernetes: {target: render, renderDir: build/gpu-test}
  modelstack:buildImages: false
  modelstack:nodePools:
    - name: whole
      gpu: H100-80GB
      gpusPerNode: 8
      provisioner: karpenter
      instanceTypes: [p5.48xlarge]
      zones: [us-east-1a]
      maxNodes: 2
      cpuPerNode: 190
      memoryGibPerNode: 2000
    - name: mixed
      gpu: A100-40GB
      gpusPerNode: 4
      migStrategy: mixed
      migLayout: {3g.20gb: 1, 2g.10gb: 1, 1g.5gb+me: 1}
      provisioner: karpenter
      maxNodes: 2
    - name: single
      gpu: A100-80GB
      gpusPerNode: 8
      migStrategy: single
      migLayout: {1g.10gb: 7}
      maxNodes: 1
    - name: cpu
      maxNodes: 2
"""


def version(pool: str, resources: str, replicas: str = "1") -> str:
    return f"""\
      v1:
        image: registry.example.com/m@sha256:{DIGEST}
        weight: 100
        nodePool: {pool}
        resources: {resources}
        replicas: {replicas}
"""


CATALOG = (
    "apiVersion: modelstack/v1\nmodels:\n"
    + "  llm:\n    server: vllm\n    versions:\n"
    + version("whole", '{cpu: "8", memory: 64Gi, gpu: 2}', "{min: 2, max: 4}")
    + "  detector:\n    server: triton\n    versions:\n"
    + version("mixed", '{cpu: "2", memory: 8Gi, gpu: 1, migProfile: 3g.20gb}')
    + "  decoder:\n    server: triton\n    versions:\n"
    + version("mixed", '{cpu: "1", memory: 4Gi, gpu: 1, migProfile: 1g.5gb+me}')
    + "  tagger:\n    server: triton\n    versions:\n"
    + version("single", '{cpu: "1", memory: 4Gi, gpu: 1, migProfile: 1g.10gb}', "3")
    + "  embedder:\n    server: vllm\n    versions:\n"
    + version("cpu", '{cpu: "1", memory: 2Gi}')
)


def make_project(tmp: Path, catalog: str = CATALOG, stack: str = STACK) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp / "Pulumi.yaml")
    (tmp / f"Pulumi.{STACK_NAME}.yaml").write_text(stack)
    (tmp / "models.yaml").write_text(catalog)
    return tmp


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing `needle`."""
    return [i + 1 for i, line in enumerate(text.splitlines()) if needle in line][occurrence - 1]
