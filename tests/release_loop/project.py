"""A git project the release loop may commit to: the stack files, a catalog of example-server models.

Every model is the repository's example server (examples/model-server, built by the stack) with two
versions, `v1` (stable) and `v2` (canary); the dev stack's namespace is the one the telemetry is in.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from tests.git_project import GIT_IDENTITY, GitProject, modelstack_env

ROOT = Path(__file__).resolve().parents[2]
BASE = "{registry}/modelstack/base@sha256:a14c3ee38672007bf8128c8d3e497d09b3d96d1f12654582738d4968ec75e0be"
METRICS = [
    "nv_inference_pending_request_count",
    "nv_inference_request_success",
    "nv_inference_request_failure",
    "modelstack_inference_request_duration_seconds",
]


def version(model: str, weight: int, revision: str) -> dict[str, Any]:
    return {
        "build": {"context": "examples/model-server", "base": BASE},
        "weight": weight,
        "nodePool": "cpu-general",
        "resources": {"cpu": "1", "memory": "1Gi"},
        "replicas": 1,
        "loadTimeoutSeconds": 60,
        "config": {"model_name": model, "revision": revision},
        "env": [{"name": "MODEL_NAME", "fromConfig": "model_name"}],
    }


def model(name: str, canary_weight: int, analysis: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "owner": "team-tests",
        "server": "triton",
        "serverOverrides": {"metricsPort": 8000, "metrics": METRICS},
        "analysis": dict(analysis),
        "versions": {
            "v1": version(name, 100 - canary_weight, "1"),
            "v2": version(name, canary_weight, "2"),
        },
    }


def catalog_text(models: Mapping[str, tuple[int, Mapping[str, Any]]]) -> str:
    document = {
        "apiVersion": "modelstack/v1",
        "models": {name: model(name, weight, analysis) for name, (weight, analysis) in models.items()},
    }
    # Block style, as people write it; a comment the loop's edits must keep.
    return "# release-loop test catalog\n" + yaml.safe_dump(
        document, sort_keys=False, default_flow_style=False
    )


@dataclass(frozen=True)
class LoopProject(GitProject):
    def run(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "modelstack", *args],
            cwd=self.root,
            env={**modelstack_env(ROOT), **GIT_IDENTITY, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    def release(
        self, model: str, prometheus: str, at: datetime, *extra: str
    ) -> subprocess.CompletedProcess[str]:
        stamp = at.astimezone(UTC).isoformat()
        return self.run(
            "release",
            "run",
            model,
            "--engine",
            "offline",
            "--prometheus",
            prometheus,
            "--at",
            stamp,
            "--json",
            *extra,
        )

    def outcome(self, done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
        assert done.returncode == 0, done.stderr + done.stdout
        return json.loads(done.stdout)

    def catalog(self) -> dict[str, Any]:
        return yaml.safe_load((self.root / "models.yaml").read_text(encoding="utf-8"))

    def weights(self, model: str) -> dict[str, int]:
        return {v: body["weight"] for v, body in self.catalog()["models"][model]["versions"].items()}

    def rendered_weights(self, model: str, namespace: str) -> dict[str, int]:
        """The canary split of the stack as the offline engine rendered it (the VirtualService's routes)."""
        path = (
            self.root
            / "rendered"
            / "dev"
            / namespace
            / "VirtualService.networking.istio.io"
            / f"{model}.yaml"
        )
        body = yaml.safe_load(path.read_text(encoding="utf-8"))
        routes = body["spec"]["http"][-1]["route"]
        return {r["destination"]["subset"]: r.get("weight", 0) for r in routes}

    def log(self) -> list[str]:
        return self.git("log", "--format=%s").splitlines()

    def commit_at(self, message: str, at: datetime) -> str:
        stamp = at.astimezone(UTC).isoformat()
        self.git("add", "--all")
        done = subprocess.run(
            ["git", "-C", str(self.root), "commit", "--quiet", "-m", message],
            env={
                **modelstack_env(ROOT),
                **GIT_IDENTITY,
                "GIT_AUTHOR_DATE": stamp,
                "GIT_COMMITTER_DATE": stamp,
            },
            capture_output=True,
            text=True,
            check=True,
        )
        assert done.returncode == 0
        return self.git("rev-parse", "HEAD")


def loop_project(
    dest: Path,
    models: Mapping[str, tuple[int, Mapping[str, Any]]],
    *,
    namespace: str,
    committed_at: datetime,
    release: Mapping[str, Any] | None = None,
) -> LoopProject:
    """A one-commit repository at `dest` (committed at `committed_at`) with `models` as its catalog."""
    dest.mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", dest / "Pulumi.yaml")
    stack = (
        (ROOT / "Pulumi.dev.yaml")
        .read_text(encoding="utf-8")
        .replace("modelstack:namespace: ml-dev", f"modelstack:namespace: {namespace}")
    )
    if release is not None:
        stack += f"  modelstack:release: {json.dumps(dict(release))}\n"
    (dest / "Pulumi.dev.yaml").write_text(stack, encoding="utf-8")
    shutil.copytree(
        ROOT / "examples" / "model-server",
        dest / "examples" / "model-server",
        ignore=shutil.ignore_patterns("wheelhouse", "__pycache__", "model"),
    )
    shutil.copytree(ROOT / "examples" / "golden-set", dest / "examples" / "golden-set")
    (dest / "models.yaml").write_text(catalog_text(models), encoding="utf-8")
    (dest / ".gitignore").write_text("/rendered/\n/build/\n", encoding="utf-8")
    project = LoopProject(dest)
    project.git("init", "--quiet", "--initial-branch", "main")
    project.commit_at("base", committed_at)
    return project
