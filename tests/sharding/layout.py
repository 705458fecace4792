"""A sharded family of stacks beside the dev stack: a base and two models shards of today's catalog.

`base` is the dev stack's settings with `shard: {role: base}`; each shard sets only its namespace, its
shard and its render directory, and inherits everything else from `Pulumi.base.yaml`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

BASE = "base"
SHARDS = {"shard-a": ["team-assistant"], "shard-b": ["team-vision", "team-search"]}
"""Shard → the owners it selects (models.yaml: llm-chat; vision-detector and text-embedder)."""
NAMESPACE = "ml-dev"


def render_dir(stack: str) -> str:
    return f"build/{stack}-manifests"


def shard_file(owners: list[str], *, hand_over: tuple[str, ...] = ()) -> dict[str, Any]:
    shard: dict[str, Any] = {"role": "models", "base": BASE, "models": {"owners": owners}}
    if hand_over:
        shard["handOver"] = list(hand_over)
    return {
        "config": {
            "modelstack:namespace": NAMESPACE,
            "modelstack:shard": shard,
            "modelstack:kubernetes": {"target": "render", "renderDir": render_dir("shard")},
        }
    }


def write_stack(root: Path, stack: str, document: dict[str, Any]) -> None:
    (root / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def write_shard(root: Path, stack: str, owners: list[str], *, hand_over: tuple[str, ...] = ()) -> None:
    document = shard_file(owners, hand_over=hand_over)
    document["config"]["modelstack:kubernetes"]["renderDir"] = render_dir(stack)
    write_stack(root, stack, document)


def write_family(root: Path) -> None:
    """Pulumi.base.yaml from Pulumi.dev.yaml, and Pulumi.<shard>.yaml for every shard of SHARDS."""
    dev = yaml.safe_load((root / "Pulumi.dev.yaml").read_text(encoding="utf-8"))
    config = dict(dev["config"])
    config["modelstack:shard"] = {"role": "base"}
    config["modelstack:kubernetes"] = {"target": "render", "renderDir": render_dir(BASE)}
    write_stack(root, BASE, {"config": config})
    for stack, owners in SHARDS.items():
        write_shard(root, stack, owners)
