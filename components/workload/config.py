"""A version's configuration as one hashed, immutable ConfigMap: a new content is a new object."""

from __future__ import annotations

from typing import Any

from components.catalog.version import VersionSpec
from components.naming import content_hash, version_labels, version_object_name

CONFIG_MOUNT_PATH = "/etc/modelstack/config"
CONFIG_VOLUME = "config"


def config_data(version: VersionSpec) -> dict[str, str]:
    """`config` key/values and `configFiles` side by side (a rule keeps their keys apart)."""
    return {**version.config, **version.config_files}


def has_config(version: VersionSpec) -> bool:
    return bool(version.config or version.config_files)


def config_map_name(model: str, version_name: str, version: VersionSpec) -> str:
    """`<model>-<version>-<hash of the content>`: at most 30 + 20 + 10 + 2 = 62 characters."""
    return f"{version_object_name(model, version_name)}-{content_hash(config_data(version))}"


def config_map_manifest(
    model: str, version_name: str, version: VersionSpec, namespace: str
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": config_map_name(model, version_name, version),
            "namespace": namespace,
            "labels": version_labels(model, version_name),
        },
        # Immutable: the API server refuses edits, and the kubelet stops watching it. A change is a new
        # name, so pods referencing it roll and the old content stays valid until they are gone.
        "immutable": True,
        "data": config_data(version),
    }
