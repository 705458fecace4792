"""A small, valid project (stack config + catalog) that tests mutate one rule at a time."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from components.catalog.errors import Severity

ROOT = Path(__file__).resolve().parents[2]

STACK = """\
config:
  modelstack:namespace: ml-test
  modelstack:kubernetes: {target: render, renderDir: build/test}
  modelstack:buildImages: false
  modelstack:smokeRunnerImage: registry.example.com/python@sha256:811fe6c4b0f60d7f2f174a655c54339bddd61693065c4c16e14d6ed77665873f
  modelstack:nodePools:
    - name: gpu-a
      gpu: H100-80GB
      gpusPerNode: 8
      maxNodes: 2
    - name: cpu-a
      maxNodes: 2
"""

DIGEST_1 = "617463c1965054fa4390857246a0cfc920baa61a012021f247ea76efca038a4b"
DIGEST_2 = "d58a61d428200bd7351bedfe064ded021aaf25dc0bf317360cdc5e290647d17d"

CATALOG = f"""\
apiVersion: modelstack/v1
models:
  llm:
    server: vllm
    versions:
      v1:
        image: registry.example.com/llm@sha256:{DIGEST_1}
        weight: 90
        nodePool: gpu-a
        resources: {{cpu: "8", memory: 64Gi, gpu: 1}}
        config:
          batch: "32"
        env:
          - {{name: BATCH, fromConfig: batch}}
      v2:
        image: registry.example.com/llm@sha256:{DIGEST_2}
        weight: 10
        nodePool: gpu-a
        resources: {{cpu: "8", memory: 64Gi, gpu: 1}}
  embedder:
    server: tgi
    versions:
      v1:
        image: registry.example.com/embedder@sha256:{DIGEST_1}
        weight: 100
        nodePool: cpu-a
        resources: {{cpu: "2", memory: 4Gi}}
        precision: bf16
"""


def make_project(tmp: Path, catalog: str = CATALOG, stack: str = STACK, name: str = "test") -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp / "Pulumi.yaml")
    (tmp / f"Pulumi.{name}.yaml").write_text(stack)
    (tmp / "models.yaml").write_text(catalog)
    return tmp


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing `needle`."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return hits[occurrence - 1]


@dataclass(frozen=True)
class RuleCase:
    """One row of a table-driven rule test: an edit of a valid file and the problem it must produce."""

    id: str
    old: str
    new: str
    line_needle: str
    path: str
    message: str
    severity: Severity = Severity.ERROR
    occurrence: int = 1
