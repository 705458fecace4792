"""The smoke gate: golden requests run by a Job against each new version before traffic moves.

Per version with a `smokeTest`: an immutable ConfigMap holding the stdlib-only checker
(`modelstack/release/smoke_check.py`) and its spec, and a Job running it. pulumi-kubernetes waits for a Job to
complete, so a failing checker fails `pulumi up`; the model's VirtualService depends on these Jobs, so its
weights never change before every smoke test passed. Job templates are immutable: the Job's name carries a
hash of everything it runs, so a changed test, checker or image is a new Job.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pulumi

from components.catalog.model import ModelSpec
from components.catalog.smoke import SmokeTest, to_checker_spec
from components.catalog.stack_config import StackConfig
from components.kubernetes_object import KubernetesObject
from components.naming import PART_OF, content_hash, version_object_name
from components.traffic.mesh import job_pod_annotations
from components.traffic.names import smoke_service_account_name, version_endpoint
from components.workload.runner import runner_container_security_context, runner_pod_security_context

CHECKER_FILE = "smoke_check.py"
SPEC_FILE = "spec.json"
MOUNT = "/smoke"
MAX_BACKOFF_SECONDS = 30  # the checker's own cap on one backoff
STARTUP_ALLOWANCE_SECONDS = 120  # image pull and the sidecar's start, before the first request


def checker_source() -> str:
    """The checker program as shipped in the `modelstack` package, read when the program runs."""
    return resources.files("modelstack.release").joinpath(CHECKER_FILE).read_text(encoding="utf-8")


def smoke_deadline_seconds(smoke: SmokeTest) -> int:
    """Worst case of the checker: every attempt of every request times out after every backoff."""
    backoffs = sum(min(smoke.backoff_seconds * 2.0**i, MAX_BACKOFF_SECONDS) for i in range(smoke.retries))
    per_request = (smoke.retries + 1) * smoke.timeout_seconds + backoffs
    return math.ceil(len(smoke.requests) * per_request) + STARTUP_ALLOWANCE_SECONDS


def _labels(model: str, version: str) -> dict[str, str]:
    # Deliberately no `app`/`version` labels: the model's Services and subsets select on those.
    return {
        "app.kubernetes.io/name": model,
        "app.kubernetes.io/instance": version_object_name(model, version),
        "app.kubernetes.io/component": "smoke-test",
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
    }


@dataclass(frozen=True)
class SmokeRun:
    """Everything one version's smoke test runs, and the names derived from it."""

    model: str
    version: str
    namespace: str
    spec_json: str
    checker: str

    @property
    def config_map_name(self) -> str:
        digest = content_hash({"checker": self.checker, "spec": self.spec_json})
        return f"{version_object_name(self.model, self.version)}-smoke-{digest}"

    def job_name(self, image: str, runner_image: str, pod: Mapping[str, Any]) -> str:
        """`pod`: what the stack adds to the pod template (`stack_pod_settings`)."""
        digest = content_hash(
            {
                "checker": self.checker,
                "spec": self.spec_json,
                "image": image,
                "runner": runner_image,
                "pod": pod,
            }
        )
        return f"{version_object_name(self.model, self.version)}-smoke-{digest}"


def smoke_run(model: str, version: str, spec: ModelSpec, smoke: SmokeTest, namespace: str) -> SmokeRun:
    endpoint = version_endpoint(model, version, namespace, spec.server_preset.port)
    spec_json = json.dumps(to_checker_spec(smoke, endpoint), sort_keys=True, indent=2)
    return SmokeRun(model, version, namespace, spec_json, checker_source())


def config_map_manifest(run: SmokeRun) -> dict[str, Any]:
    return {
        "metadata": {
            "name": run.config_map_name,
            "namespace": run.namespace,
            "labels": _labels(run.model, run.version),
        },
        "immutable": True,
        "data": {CHECKER_FILE: run.checker, SPEC_FILE: run.spec_json},
    }


def service_account_manifest(model: str, namespace: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": smoke_service_account_name(model),
            "namespace": namespace,
            "labels": {**_labels(model, model), "app.kubernetes.io/instance": model},
        },
        # The sidecar gets its mesh identity from its own projected token; the checker needs none.
        "automountServiceAccountToken": False,
    }


def _container(runner_image: str) -> dict[str, Any]:
    return {
        "name": "checker",
        "image": runner_image,
        "command": ["python", f"{MOUNT}/{CHECKER_FILE}", f"{MOUNT}/{SPEC_FILE}"],
        "env": [
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
            {"name": "PYTHONUNBUFFERED", "value": "1"},
        ],
        "volumeMounts": [{"name": "smoke", "mountPath": MOUNT, "readOnly": True}],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "securityContext": runner_container_security_context(),
    }


def stack_pod_settings(stack: StackConfig) -> dict[str, Any]:
    """What the stack adds to a Job's pod template: the data plane's annotations and the pull secrets (the
    runner image comes from the stack's registry like the model images). Part of the Job's name, since a
    Job's template is immutable: a changed setting is a new Job, never an update the API server refuses."""
    settings: dict[str, Any] = {}
    if annotations := job_pod_annotations(stack.istio):
        settings["annotations"] = annotations
    if names := stack.image_pull_secrets:
        settings["imagePullSecrets"] = [{"name": name} for name in names]
    return settings


def job_manifest(
    run: SmokeRun, job_name: Any, runner_image: str, deadline_seconds: int, stack: StackConfig
) -> dict[str, Any]:
    """A one-shot Job; no ttlSecondsAfterFinished: Pulumi must find the Job it created on the next run."""
    labels = _labels(run.model, run.version)
    settings = stack_pod_settings(stack)
    template_metadata: dict[str, Any] = {"labels": labels}
    if "annotations" in settings:
        template_metadata["annotations"] = settings["annotations"]
    pull_secrets = (
        {"imagePullSecrets": settings["imagePullSecrets"]} if "imagePullSecrets" in settings else {}
    )
    return {
        "metadata": {"name": job_name, "namespace": run.namespace, "labels": labels},
        "spec": {
            # A wrong answer is deterministic: no second pod. The checker retries unreachable endpoints itself.
            "backoffLimit": 0,
            "activeDeadlineSeconds": deadline_seconds,
            # An evicted or preempted pod is not a failed test: it does not count against backoffLimit.
            "podFailurePolicy": {
                "rules": [
                    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
                ]
            },
            "template": {
                # The checker calls through the mesh (STRICT mTLS); what lets the Job complete depends on
                # the data plane (job_pod_annotations).
                "metadata": template_metadata,
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": smoke_service_account_name(run.model),
                    "automountServiceAccountToken": False,
                    **pull_secrets,
                    "securityContext": runner_pod_security_context(),
                    "containers": [_container(runner_image)],
                    "volumes": [{"name": "smoke", "configMap": {"name": run.config_map_name}}],
                },
            },
        },
    }


@dataclass(frozen=True)
class SmokeGateArgs:
    model_name: str
    model: ModelSpec
    stack: StackConfig
    deployments: Mapping[str, pulumi.Resource]
    """Each version's Deployment: its smoke test starts once the Deployment is ready."""
    images: Mapping[str, pulumi.Input[str]]
    """Each version's image reference (a built image's digest is known only after the build)."""


class SmokeGate(pulumi.ComponentResource):
    """The smoke-test Jobs of one model's versions; `jobs` is what traffic waits for."""

    jobs: list[KubernetesObject]

    def __init__(self, name: str, args: SmokeGateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelstack:traffic:SmokeGate", name, None, opts)
        self.jobs = []
        tested = {v: s.smoke_test for v, s in args.model.versions.items() if s.smoke_test is not None}
        if tested:
            runner_image = args.stack.smoke_runner_image
            if runner_image is None:  # the catalog rules refuse this before anything is registered
                raise ValueError("smoke tests need modelstack:smokeRunnerImage")
            namespace = args.stack.namespace
            manifest = service_account_manifest(args.model_name, namespace)
            account = KubernetesObject(
                smoke_service_account_name(args.model_name),
                "v1",
                "ServiceAccount",
                manifest,
                pulumi.ResourceOptions(parent=self),
            )
            for version, smoke in tested.items():
                run = smoke_run(args.model_name, version, args.model, smoke, namespace)
                self.jobs.append(self._version_job(run, smoke, runner_image, args, account))
        self.register_outputs({"jobs": [job.metadata["name"] for job in self.jobs]})

    def _version_job(
        self,
        run: SmokeRun,
        smoke: SmokeTest,
        runner_image: str,
        args: SmokeGateArgs,
        account: pulumi.Resource,
    ) -> KubernetesObject:
        base = f"{version_object_name(run.model, run.version)}-smoke"
        config = KubernetesObject(
            base, "v1", "ConfigMap", config_map_manifest(run), pulumi.ResourceOptions(parent=self)
        )
        pod = stack_pod_settings(args.stack)
        job_name = pulumi.Output.from_input(args.images[run.version]).apply(
            lambda image: run.job_name(image, runner_image, pod)
        )
        deadline = smoke_deadline_seconds(smoke)
        return KubernetesObject(
            base,
            "batch/v1",
            "Job",
            job_manifest(run, job_name, runner_image, deadline, args.stack),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[args.deployments[run.version], config, account],
                # Pulumi's own wait for the Job must outlast the Job's deadline.
                custom_timeouts=pulumi.CustomTimeouts(create=f"{deadline + 60}s"),
            ),
        )
