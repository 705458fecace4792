"""The pod of a model version, built from small pure functions so other concerns can be merged in.

Scheduling (node selectors, tolerations, affinity) belongs to the GPU node pools; `scheduling_fields` is
the one place their fields join the pod spec.
"""

from __future__ import annotations

import math
import re
from typing import Any

from components.catalog.server import ServerPreset, server_args, server_env
from components.catalog.version import VersionSpec
from components.catalog.workload import EnvVar, ModelWeights, SecretFile, SecurityContext
from components.gpu.scheduling import pod_scheduling, resource_amounts
from components.naming import content_hash
from components.traffic.mesh import metrics_annotations, sidecar_resource_annotations
from components.workload.args import ModelVersionArgs
from components.workload.availability import topology_spread_constraints
from components.workload.config import CONFIG_MOUNT_PATH, CONFIG_VOLUME, config_map_name
from components.workload.identity import service_account_name
from components.workload.weights import weights_claim_name

CONTAINER = "server"
HTTP_PORT = "http"
METRICS_PORT = "metrics"
WEIGHTS_VOLUME = "model-weights"
WEIGHTS_ENV = "MODEL_WEIGHTS_PATH"
STARTUP_PERIOD_SECONDS = 10
PROBE_TIMEOUT_SECONDS = 5
"""Generous: a busy LLM server answers health checks late, and a timeout counts as a failure."""
_VOLUME_NAME_MAX = 63


# --- ports and probes -----------------------------------------------------------------------------


def container_ports(server: ServerPreset) -> list[dict[str, Any]]:
    """Every port named: probes, Services and ServiceMonitors refer to names, never numbers."""
    ports = [{"name": HTTP_PORT, "containerPort": server.port, "protocol": "TCP"}]
    if server.metrics_port != server.port:
        ports.append({"name": METRICS_PORT, "containerPort": server.metrics_port, "protocol": "TCP"})
    return ports


def _http_get(path: str) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": HTTP_PORT, "scheme": "HTTP"}}


def startup_failure_threshold(load_timeout_seconds: int) -> int:
    """Enough attempts that failureThreshold × periodSeconds covers the whole load budget."""
    return math.ceil(load_timeout_seconds / STARTUP_PERIOD_SECONDS)


def probes(server: ServerPreset, version: VersionSpec) -> dict[str, Any]:
    """Startup on readiness (the model is loaded) gates liveness, so loading is never killed."""
    return {
        "startupProbe": {
            **_http_get(server.readiness_path),
            "periodSeconds": STARTUP_PERIOD_SECONDS,
            "timeoutSeconds": PROBE_TIMEOUT_SECONDS,
            "failureThreshold": startup_failure_threshold(version.load_timeout_seconds),
        },
        "readinessProbe": {
            **_http_get(server.readiness_path),
            "periodSeconds": 5,
            "timeoutSeconds": PROBE_TIMEOUT_SECONDS,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            **_http_get(server.liveness_path),
            "periodSeconds": 10,
            "timeoutSeconds": PROBE_TIMEOUT_SECONDS,
            "failureThreshold": 3,
        },
    }


# --- resources ------------------------------------------------------------------------------------


def resources(args: ModelVersionArgs) -> dict[str, Any]:
    """Requests equal limits for every resource: Guaranteed QoS, last to be evicted, no CPU throttling
    surprises from overcommitted neighbours. The accelerator is named as the pool's device plugin
    exposes it (`nvidia.com/gpu`, or `nvidia.com/mig-<profile>` under the mixed MIG strategy)."""
    amounts = resource_amounts(args.pool, args.version.resources)
    return {"requests": dict(amounts), "limits": dict(amounts)}


# --- environment ----------------------------------------------------------------------------------


def _env_var(env: EnvVar, config_map: str) -> dict[str, Any]:
    if env.from_config is not None:
        return {
            "name": env.name,
            "valueFrom": {"configMapKeyRef": {"name": config_map, "key": env.from_config}},
        }
    if env.from_secret is not None:
        ref = {"name": env.from_secret.name, "key": env.from_secret.key}
        return {"name": env.name, "valueFrom": {"secretKeyRef": ref}}
    return {"name": env.name, "value": env.value}


def env(args: ModelVersionArgs) -> list[dict[str, Any]]:
    """Injected variables first (the server's port and precision, weights path), then the catalog's."""
    version = args.version
    spelled = server_env(args.model.server_preset, version.precision)
    injected = [{"name": name, "value": value} for name, value in spelled.items()]
    if version.model_weights is not None:
        injected.append({"name": WEIGHTS_ENV, "value": version.model_weights.mount_path})
    config_map = config_map_name(args.model_name, args.version_name, version)
    return injected + [_env_var(e, config_map) for e in version.env]


# --- volumes --------------------------------------------------------------------------------------


def writable_volume_name(path: str) -> str:
    """`/home/model/.cache` -> `writable-home-model-cache`; a DNS label, stable for the path."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"
    name = f"writable-{slug}"
    if len(name) > _VOLUME_NAME_MAX:
        name = f"{name[: _VOLUME_NAME_MAX - 11].rstrip('-')}-{content_hash(path)}"
    return name


SECRET_FILE_MODE = 0o440
"""Read-only for the owner and the pod's fsGroup (the server's group), nothing for anyone else."""


def secret_volume_name(directory: str) -> str:
    """`/var/run/secrets/hf` -> `secret-var-run-secrets-hf`; a DNS label, stable for the directory."""
    slug = re.sub(r"[^a-z0-9]+", "-", directory.lower()).strip("-") or "root"
    name = f"secret-{slug}"
    if len(name) > _VOLUME_NAME_MAX:
        name = f"{name[: _VOLUME_NAME_MAX - 11].rstrip('-')}-{content_hash(directory)}"
    return name


def secret_directories(version: VersionSpec) -> dict[str, list[SecretFile]]:
    """Secret files by directory, each directory one Secret volume (the rules check they share a Secret)."""
    found: dict[str, list[SecretFile]] = {}
    for file in version.secret_files:
        found.setdefault(file.directory, []).append(file)
    return dict(sorted(found.items()))


def _weights_source(model: str, version: str, weights: ModelWeights) -> dict[str, Any]:
    if weights.volume is not None:
        return {"persistentVolumeClaim": {"claimName": weights_claim_name(model, version), "readOnly": True}}
    # An OCI artifact mounted as a volume (Kubernetes image volumes); pinned by digest, so never re-pulled.
    return {"image": {"reference": weights.image, "pullPolicy": "IfNotPresent"}}


def volumes(args: ModelVersionArgs) -> list[dict[str, Any]]:
    version = args.version
    found: list[dict[str, Any]] = [
        {"name": writable_volume_name(path), "emptyDir": {}}
        for path in args.model.server_preset.writable_paths
    ]
    if version.config_files:
        # Only the files: the key/values reach the server as environment variables.
        items = [{"key": key, "path": key} for key in sorted(version.config_files)]
        source = {"name": config_map_name(args.model_name, args.version_name, version), "items": items}
        found.append({"name": CONFIG_VOLUME, "configMap": source})
    if version.model_weights is not None:
        found.append(
            {
                "name": WEIGHTS_VOLUME,
                **_weights_source(args.model_name, args.version_name, version.model_weights),
            }
        )
    for directory, files in secret_directories(version).items():
        keys = [{"key": f.from_secret.key, "path": f.name} for f in sorted(files, key=lambda f: f.name)]
        secret = {"secretName": files[0].from_secret.name, "items": keys, "defaultMode": SECRET_FILE_MODE}
        found.append({"name": secret_volume_name(directory), "secret": secret})
    return found


def volume_mounts(args: ModelVersionArgs) -> list[dict[str, Any]]:
    version = args.version
    mounts: list[dict[str, Any]] = [
        {"name": writable_volume_name(path), "mountPath": path}
        for path in args.model.server_preset.writable_paths
    ]
    if version.config_files:
        mounts.append({"name": CONFIG_VOLUME, "mountPath": CONFIG_MOUNT_PATH, "readOnly": True})
    weights = version.model_weights
    if weights is not None:
        mount = {"name": WEIGHTS_VOLUME, "mountPath": weights.mount_path, "readOnly": True}
        mounts.append(mount | ({"subPath": weights.sub_path} if weights.sub_path else {}))
    for directory in secret_directories(version):
        mounts.append({"name": secret_volume_name(directory), "mountPath": directory, "readOnly": True})
    return mounts


# --- security -------------------------------------------------------------------------------------


def pod_security_context(identity: SecurityContext) -> dict[str, Any]:
    """The restricted Pod Security Standard, with an explicit non-root identity."""
    return {
        "runAsNonRoot": True,
        "runAsUser": identity.run_as_user,
        "runAsGroup": identity.run_as_group,
        # Group ownership of mounted volumes, so the non-root server can read the weights.
        "fsGroup": identity.fs_group,
        # Only re-own a volume whose root does not match: a recursive chown of 100 GB of weights would
        # otherwise delay every start.
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
    }


# --- assembly -------------------------------------------------------------------------------------


def container_spec(args: ModelVersionArgs, image: Any) -> dict[str, Any]:
    server = args.model.server_preset
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": image,
        # Digest references never move, so a node that has the image never needs to pull it again.
        "imagePullPolicy": "IfNotPresent",
        "ports": container_ports(server),
        "env": env(args),
        "resources": resources(args),
        "volumeMounts": volume_mounts(args),
        "securityContext": container_security_context(),
        **probes(server, args.version),
    }
    arguments = [*args.version.args, *server_args(server, args.version.precision)]
    if arguments:
        container["args"] = arguments
    return container


def scheduling_fields(args: ModelVersionArgs) -> dict[str, Any]:
    """Where the pod may run: the node pool's tolerations and affinity, derived by the GPU pools."""
    placement = pod_scheduling(args.pool, args.version.resources)
    return {**placement.pod_spec_fields(), "topologySpreadConstraints": topology_spread_constraints(args)}


def pod_annotations(args: ModelVersionArgs) -> dict[str, str]:
    """What the mesh reads from the pod: how its metrics are scraped and what its sidecar may use
    (components/traffic/mesh)."""
    return {
        **metrics_annotations(args.model.server_preset, args.stack.istio),
        **sidecar_resource_annotations(args.stack.istio, args.model.sidecar_resources),
    }


def pod_metadata(args: ModelVersionArgs, labels: dict[str, str]) -> dict[str, Any]:
    annotations = pod_annotations(args)
    return {"labels": labels, **({"annotations": annotations} if annotations else {})}


def pod_spec(args: ModelVersionArgs, image: Any) -> dict[str, Any]:
    return {
        "serviceAccountName": service_account_name(args.model_name),
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(args.model.security),
        "containers": [container_spec(args, image)],
        "volumes": volumes(args),
        **scheduling_fields(args),
        **image_pull_secrets(args),
    }


def image_pull_secrets(args: ModelVersionArgs) -> dict[str, Any]:
    names = args.stack.image_pull_secrets
    return {"imagePullSecrets": [{"name": name} for name in names]} if names else {}
