"""Test stacks aimed at the local cluster, and what the platform provides before a stack arrives.

A test stack is `Pulumi.prod.yaml` with the cluster's kubeconfig context as its target, images not built
(versions with `build:` get their content-derived digest) and a namespace of its own. Everything else —
node pools, Istio, monitoring, the catalog — is production's, unless a test overrides it.

Production expects the Secrets that versions read (`modelstack:secrets`) to exist in the namespace, yet
the stack itself creates that namespace. `platform_objects` plays the platform team (or its External
Secrets controller): it waits for the namespace to appear during `pulumi up` and then creates the
Secrets. The weights' claims are the stack's own objects (docs/workloads.md), so nothing here makes them.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.cluster.cluster import LocalCluster
from tests.engine.engine import ROOT, ObjectId


def write_stack_file(
    project: Path,
    name: str,
    cluster: LocalCluster,
    namespace: str,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`Pulumi.<name>.yaml` in `project`: production's settings aimed at `cluster`."""
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text(encoding="utf-8"))
    config: dict[str, Any] = document["config"]
    config["modelstack:namespace"] = namespace
    config["modelstack:kubernetes"] = {"target": "cluster", "context": cluster.context}
    config["modelstack:buildImages"] = False
    config.update(overrides or {})
    (project / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return config


def referenced_secrets(objects: Mapping[ObjectId, Mapping[str, Any]]) -> dict[str, set[str]]:
    """Secret keys the rendered pods refer to (objects the stack expects the platform to provide)."""
    secrets: dict[str, set[str]] = {}
    for (_, kind, _, _), body in objects.items():
        if kind not in ("Deployment", "Job"):
            continue
        pod = body["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            for env in container.get("env", []):
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    secrets.setdefault(ref["name"], set()).add(ref["key"])
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                keys = {item["key"] for item in volume["secret"].get("items", [])}
                secrets.setdefault(volume["secret"]["secretName"], set()).update(keys)
    return secrets


def platform_documents(namespace: str, secrets: Mapping[str, set[str]]) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "stringData": {key: "test-only" for key in sorted(keys)},
        }
        for name, keys in sorted(secrets.items())
    ]


@contextmanager
def platform_objects(
    cluster: LocalCluster, namespace: str, objects: Mapping[ObjectId, Mapping[str, Any]], timeout: float = 600
) -> Iterator[list[str]]:
    """While the body runs `pulumi up`: create the platform's Secrets once the namespace exists.

    Yields the list of errors the background thread met (empty when it did its job).
    """
    documents = platform_documents(namespace, referenced_secrets(objects))
    errors: list[str] = []
    done = threading.Event()

    def create() -> None:
        try:
            cluster.wait_for(
                f"namespace {namespace}",
                lambda: (
                    cluster.kubectl("get", "namespace", namespace, check=False).returncode == 0
                    or done.is_set()
                ),
                timeout=timeout,
            )
            if not done.is_set() and documents:
                cluster.apply(documents)
        except Exception as exc:  # reported to the test, which owns the assertion
            errors.append(str(exc))

    thread = threading.Thread(target=create, daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        done.set()
        thread.join(timeout=30)


def api_objects(cluster: LocalCluster, ids: list[ObjectId]) -> dict[ObjectId, dict[str, Any] | None]:
    """Each object as the API server has it (None when it does not exist)."""
    found: dict[ObjectId, dict[str, Any] | None] = {}
    for group, kind, namespace, name in ids:
        resource = kind if group == "core" else f"{kind}.{group}"
        args = ["get", resource, name, "-o", "json", "--ignore-not-found"]
        if namespace:
            args += ["-n", namespace]
        out = cluster.kubectl(*args).stdout.strip()
        found[(group, kind, namespace, name)] = json.loads(out) if out else None
    return found


def condition(body: Mapping[str, Any], kind: str) -> str | None:
    for entry in (body.get("status") or {}).get("conditions") or []:
        if entry.get("type") == kind:
            return str(entry.get("status"))
    return None


def run_modelstack(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "modelstack"), *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
