"""The weights volume of one version: a PersistentVolume and its claim, pre-bound to each other.

The stack creates the namespace, so it must also own every namespaced object its pods need before they
can be scheduled; a claim is one (a pod whose claim does not exist stays Pending). The platform only
provides the storage (a CSI volume handle or an NFS export). Both objects are named after the version and
carry its labels; the PersistentVolume, cluster-scoped, also carries the namespace in its name so two
stacks of one cluster never collide.
"""

from __future__ import annotations

from typing import Any

from components.catalog.workload import WeightsVolume
from components.naming import version_labels, version_object_name


def weights_claim_name(model: str, version: str) -> str:
    return f"{version_object_name(model, version)}-weights"


def weights_volume_name(namespace: str, model: str, version: str) -> str:
    return f"{namespace}-{weights_claim_name(model, version)}"


def _source(volume: WeightsVolume) -> dict[str, Any]:
    if volume.csi is not None:
        csi: dict[str, Any] = {
            "driver": volume.csi.driver,
            "volumeHandle": volume.csi.volume_handle,
            "readOnly": True,
        }
        if volume.csi.volume_attributes:
            csi["volumeAttributes"] = dict(sorted(volume.csi.volume_attributes.items()))
        return {"csi": csi}
    assert volume.nfs is not None  # the schema requires exactly one source
    return {"nfs": {"server": volume.nfs.server, "path": volume.nfs.path, "readOnly": True}}


def persistent_volume_manifest(
    model: str, version: str, namespace: str, volume: WeightsVolume
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": weights_volume_name(namespace, model, version),
            "labels": version_labels(model, version),
        },
        "spec": {
            "capacity": {"storage": volume.size},
            "accessModes": ["ReadOnlyMany"],
            # Deleting the version releases the volume, never the weights behind it.
            "persistentVolumeReclaimPolicy": "Retain",
            # No storageClassName: a volume without one belongs to no class, which is what the claim's ""
            # asks for. (The provider drops an empty one from a PersistentVolume, so "" would only make
            # the offline render differ from what the engine sends.)
            "claimRef": {"namespace": namespace, "name": weights_claim_name(model, version)},
            **_source(volume),
        },
    }


def persistent_volume_claim_manifest(
    model: str, version: str, namespace: str, volume: WeightsVolume
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": weights_claim_name(model, version),
            "namespace": namespace,
            "labels": version_labels(model, version),
        },
        "spec": {
            "accessModes": ["ReadOnlyMany"],
            "storageClassName": "",
            "volumeName": weights_volume_name(namespace, model, version),
            "resources": {"requests": {"storage": volume.size}},
        },
    }
