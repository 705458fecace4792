"""Deterministic object names and labels. Istio hosts, subsets and selectors refer to these names."""

from __future__ import annotations

import hashlib
import json
from typing import Any

PART_OF = "modelstack"


def version_object_name(model: str, version: str) -> str:
    """`<model>-<version>`: Deployment, per-version Service, PDB, HPA. At most 51 characters."""
    return f"{model}-{version}"


def content_hash(value: Any, length: int = 10) -> str:
    """Stable short hash of JSON-able content (sorted keys), for names that change with content."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def model_labels(model: str) -> dict[str, str]:
    return {
        "app": model,
        "app.kubernetes.io/name": model,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def version_labels(model: str, version: str) -> dict[str, str]:
    """Labels of a version's pods; `app`/`version` are the ones Istio telemetry and subsets use."""
    return {
        **model_labels(model),
        "version": version,
        "app.kubernetes.io/instance": version_object_name(model, version),
        "app.kubernetes.io/version": version,
    }


def version_selector(model: str, version: str) -> dict[str, str]:
    """Selector of a version's Deployment. Never changes for an existing version (selectors are immutable)."""
    return {"app": model, "version": version}
