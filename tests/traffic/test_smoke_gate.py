"""The smoke gate: a ConfigMap and a Job per tested version, and traffic that waits for them."""

from __future__ import annotations

import json
from pathlib import Path

from components.catalog.stack_config import StackConfig
from components.traffic.smoke_gate import (
    SmokeRun,
    job_manifest,
    smoke_deadline_seconds,
    smoke_run,
    stack_pod_settings,
)
from modelstack.engine.render import run_program
from tests.conftest import ROOT, objects_of_kind
from tests.declared import recorded_declarations

from .conftest import model_of


def _only(objects, prefix):
    (name,) = [n for n in objects if n.startswith(prefix)]
    return objects[name]


def test_tested_version_gets_a_smoke_job_named_by_a_hash(dev_render):
    jobs = objects_of_kind(dev_render, "Job")
    assert [n.rsplit("-", 1)[0] for n in jobs] == ["vision-detector-v7-smoke"]
    assert len(next(iter(jobs)).rsplit("-", 1)[1]) == 10


def test_job_runs_the_checker_from_its_config_map(dev_render):
    job = _only(objects_of_kind(dev_render, "Job"), "vision-detector-v7-smoke")
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "/smoke/smoke_check.py", "/smoke/spec.json"]
    assert container["image"].startswith("docker.io/library/python@sha256:")
    config_map = objects_of_kind(dev_render, "ConfigMap")[pod["volumes"][0]["configMap"]["name"]]
    assert config_map["immutable"] is True
    assert (
        config_map["data"]["smoke_check.py"]
        == (ROOT / "modelstack" / "release" / "smoke_check.py").read_text()
    )


def test_checker_spec_targets_the_versions_own_service(dev_render):
    config_map = _only(objects_of_kind(dev_render, "ConfigMap"), "vision-detector-v7-smoke")
    spec = json.loads(config_map["data"]["spec.json"])
    assert spec["endpoint"] == "http://vision-detector-v7.ml-dev.svc.cluster.local:8000"
    assert [r["name"] for r in spec["requests"]] == ["golden-shelf"]


def test_job_stays_after_it_finished_and_has_a_deadline(dev_render):
    spec = _only(objects_of_kind(dev_render, "Job"), "vision-detector-v7-smoke")["spec"]
    assert "ttlSecondsAfterFinished" not in spec
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] > 0


def test_job_pod_meets_the_restricted_pod_security_standard(dev_render):
    pod = _only(objects_of_kind(dev_render, "Job"), "vision-detector-v7-smoke")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = pod["containers"][0]["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}


def test_job_pods_are_not_selected_by_the_models_services(dev_render):
    labels = _only(objects_of_kind(dev_render, "Job"), "vision-detector-v7-smoke")["spec"]["template"][
        "metadata"
    ]["labels"]
    assert "app" not in labels and "version" not in labels


def test_changed_golden_request_or_image_is_a_new_job(catalog_with):
    def changed(data):
        data["models"]["vision-detector"]["versions"]["v7"]["smokeTest"]["requests"][0]["expect"] = {
            "outputs.0.data": [0.9]
        }

    original = model_of(catalog_with(lambda data: None), "vision-detector")
    edited = model_of(catalog_with(changed), "vision-detector")
    runs = [
        smoke_run("vision-detector", "v7", m, m.versions["v7"].smoke_test, "ml-dev")
        for m in (original, edited)
    ]
    image = original.versions["v7"].image
    runner = "python@sha256:" + "0" * 64
    assert runs[0].job_name(image, runner, {}) != runs[1].job_name(image, runner, {})
    assert runs[0].job_name(image, runner, {}) != runs[0].job_name(image + "x", runner, {})
    assert runs[0].job_name(image, runner, {}) == runs[0].job_name(image, runner, {})


def test_deadline_covers_every_retry_of_every_request(catalog_with):
    smoke = model_of(catalog_with(lambda data: None), "vision-detector").versions["v7"].smoke_test
    # 11 tries of 30 s, backoffs 2+4+8+16+30×6 s, plus the startup allowance.
    assert smoke_deadline_seconds(smoke) == 11 * 30 + (2 + 4 + 8 + 16 + 30 * 6) + 120


def test_virtual_service_waits_for_smoke_jobs_and_deployments(monkeypatch, tmp_path: Path):
    declared = recorded_declarations(monkeypatch)
    run_program(ROOT, "dev")
    vision = declared["VirtualService:vision-detector-virtual-service"].depends_on
    assert {"Job:vision-detector-v7-smoke", "Deployment:vision-detector-v7"} <= set(vision)
    chat = declared["VirtualService:llm-chat-virtual-service"].depends_on
    assert {"Deployment:llm-chat-v1", "Deployment:llm-chat-v2"} <= set(chat)


def test_smoke_job_starts_after_its_versions_deployment(monkeypatch):
    declared = recorded_declarations(monkeypatch)
    run_program(ROOT, "dev")
    assert "Deployment:vision-detector-v7" in declared["Job:vision-detector-v7-smoke"].depends_on


def test_only_models_with_smoke_tests_register_a_smoke_gate(dev_render):
    gates = [r.name for r in dev_render.resources if r.type == "modelstack:traffic:SmokeGate"]

    assert gates == ["vision-detector"]


def _job_pod(stack: StackConfig) -> dict:
    run = SmokeRun("llm", "v1", stack.namespace, "{}", "print()")
    return job_manifest(run, "llm-v1-smoke-0", "python@sha256:" + "0" * 64, 300, stack)["spec"]["template"]


def test_smoke_job_pulls_its_runner_with_the_stacks_image_pull_secrets(prod_render):
    pod = _only(objects_of_kind(prod_render, "Job"), "vision-detector-v7-smoke")["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "registry-ml-pull"}]


def test_smoke_job_of_a_stack_without_pull_secrets_names_none(dev_render):
    pod = _only(objects_of_kind(dev_render, "Job"), "vision-detector-v7-smoke")["spec"]["template"]["spec"]
    assert "imagePullSecrets" not in pod


def test_smoke_job_proxy_is_a_native_sidecar_with_sidecar_cni():
    """Istio ≥ 1.24 reads the per-pod annotation (precedence over ENABLE_NATIVE_SIDECARS): the proxy becomes
    an init container with restartPolicy Always, which the kubelet stops once the checker exited."""
    stack = StackConfig.model_validate({"namespace": "ml-test", "istio": {"dataplane": "sidecar-cni"}})
    assert _job_pod(stack)["metadata"]["annotations"] == {"sidecar.istio.io/nativeSidecar": "true"}


def test_smoke_job_under_ambient_asks_for_no_sidecar():
    """Ambient pods get no proxy container (ztunnel carries their mutual TLS): nothing keeps the pod alive."""
    stack = StackConfig.model_validate(
        {
            "namespace": "ml-test",
            "istio": {"dataplane": "ambient"},
            "monitoring": {"prometheusServiceAccount": "monitoring/prometheus-k8s"},
        }
    )
    assert "annotations" not in _job_pod(stack)["metadata"]


def test_a_changed_pull_secret_or_data_plane_is_a_new_job():
    """A Job's pod template is immutable: a stack setting that changes it must change the Job's name."""
    run = SmokeRun("llm", "v1", "ml-test", "{}", "print()")
    image, runner = "llm@sha256:" + "1" * 64, "python@sha256:" + "0" * 64
    stacks = [
        {"namespace": "ml-test"},
        {"namespace": "ml-test", "secrets": {"pull": [".dockerconfigjson"]}, "imagePullSecrets": ["pull"]},
        {
            "namespace": "ml-test",
            "istio": {"dataplane": "ambient"},
            "monitoring": {"prometheusServiceAccount": "monitoring/prometheus-k8s"},
        },
    ]
    names = {run.job_name(image, runner, stack_pod_settings(StackConfig.model_validate(s))) for s in stacks}
    assert len(names) == len(stacks)
