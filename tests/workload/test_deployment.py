"""Every version's Deployment: digest-pinned image, named ports, three probes, Guaranteed QoS, replicas."""

from __future__ import annotations

import re
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from components.workload.pod import STARTUP_PERIOD_SECONDS, startup_failure_threshold
from modelstack.engine.render import Render

from .conftest import REPO, Project, of_kind, pod_spec, server_container, version_deployments, version_of

DIGEST_REF = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def deployments(render: Render) -> dict[str, dict[str, Any]]:
    found = version_deployments(render)
    assert {"llm-chat-v1", "llm-chat-v2", "vision-detector-v7", "text-embedder-v1"} <= set(found)
    return found


def test_every_container_runs_an_image_pinned_by_digest_pulled_if_not_present(prod_render: Render) -> None:
    for name, deployment in deployments(prod_render).items():
        container = server_container(deployment)
        assert DIGEST_REF.match(container["image"]), name
        assert container["imagePullPolicy"] == "IfNotPresent", name


def test_every_container_port_is_named_http_or_metrics(prod_render: Render) -> None:
    for name, deployment in deployments(prod_render).items():
        ports = server_container(deployment)["ports"]
        assert ports[0]["name"] == "http", name
        assert {p["name"] for p in ports} <= {"http", "metrics"}, name


def test_a_separate_metrics_port_is_exposed_as_metrics(prod_render: Render) -> None:
    triton = server_container(deployments(prod_render)["vision-detector-v7"])["ports"]
    vllm = server_container(deployments(prod_render)["llm-chat-v1"])["ports"]
    assert {p["name"]: p["containerPort"] for p in triton} == {"http": 8000, "metrics": 8002}
    assert [p["name"] for p in vllm] == ["http"]  # vLLM serves /metrics on its HTTP port


def test_every_probe_targets_a_named_port_the_container_exposes(prod_render: Render) -> None:
    for name, deployment in deployments(prod_render).items():
        container = server_container(deployment)
        exposed = {p["name"] for p in container["ports"]}
        for probe in PROBES:
            assert container[probe]["httpGet"]["port"] in exposed, (name, probe)


def test_startup_probe_budget_covers_the_load_timeout(prod_render: Render) -> None:
    catalog = yaml.safe_load((REPO / "models.yaml").read_text())
    for model, body in catalog["models"].items():
        for version, spec in body["versions"].items():
            probe = server_container(deployments(prod_render)[f"{model}-{version}"])["startupProbe"]
            budget = spec.get("loadTimeoutSeconds", 1200)
            assert probe["failureThreshold"] * probe["periodSeconds"] >= budget, (model, version)


@given(st.integers(min_value=10, max_value=7200))
def test_startup_failure_threshold_covers_any_budget_by_less_than_one_period(budget: int) -> None:
    covered = startup_failure_threshold(budget) * STARTUP_PERIOD_SECONDS
    assert budget <= covered < budget + STARTUP_PERIOD_SECONDS


def test_liveness_cannot_kill_a_loading_model(prod_render: Render) -> None:
    """The startup probe waits for readiness (model loaded); Kubernetes runs liveness only after it."""
    container = server_container(deployments(prod_render)["llm-chat-v1"])
    assert container["startupProbe"]["httpGet"]["path"] == container["readinessProbe"]["httpGet"]["path"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    triton = server_container(deployments(prod_render)["vision-detector-v7"])
    assert triton["startupProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert triton["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"


def test_requests_equal_limits_for_every_resource(prod_render: Render) -> None:
    for name, deployment in deployments(prod_render).items():
        resources = server_container(deployment)["resources"]
        assert resources["requests"] == resources["limits"], name
        assert {"cpu", "memory"} <= set(resources["limits"]), name


def test_whole_gpus_are_requested_as_nvidia_com_gpu(prod_render: Render) -> None:
    limits = server_container(deployments(prod_render)["llm-chat-v1"])["resources"]["limits"]
    assert limits == {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "1"}


def test_mig_instances_are_requested_under_the_pools_strategy_name(prod_render: Render) -> None:
    limits = server_container(deployments(prod_render)["vision-detector-v7"])["resources"]["limits"]
    assert limits["nvidia.com/mig-3g.40gb"] == "1"
    assert "nvidia.com/gpu" not in limits


def test_a_single_strategy_pool_hands_out_mig_instances_as_nvidia_com_gpu(project: Project) -> None:
    def single(config: dict[str, Any]) -> None:
        pool = next(p for p in config["modelstack:nodePools"] if p["name"] == "gpu-h100-mig")
        pool.update(migStrategy="single", migLayout={"3g.40gb": 2})

    project.edit_stack("dev", single)
    limits = server_container(of_kind(project.render("dev"), "Deployment")["vision-detector-v7"])["resources"]
    assert limits["limits"]["nvidia.com/gpu"] == "1"
    assert not any(name.startswith("nvidia.com/mig-") for name in limits["limits"])


def test_cpu_versions_request_no_accelerator(prod_render: Render) -> None:
    limits = server_container(deployments(prod_render)["text-embedder-v1"])["resources"]["limits"]
    assert set(limits) == {"cpu", "memory"}


def test_replicas_are_left_to_the_autoscaler_when_one_owns_them(render_edited: Any) -> None:
    def fixed_count(catalog: dict[str, Any]) -> None:
        version_of(catalog, "text-embedder", "v1")["replicas"] = 2

    found = deployments(render_edited(fixed_count))
    assert "replicas" not in found["llm-chat-v1"]["spec"]  # autoscaling set, min 2 < max 6
    assert found["text-embedder-v1"]["spec"]["replicas"] == 2  # fixed count


def test_replicas_are_the_minimum_when_the_model_has_no_autoscaler(render_edited: Any) -> None:
    def no_autoscaling(catalog: dict[str, Any]) -> None:
        del catalog["models"]["llm-chat"]["autoscaling"]

    render = render_edited(no_autoscaling)
    assert of_kind(render, "Deployment")["llm-chat-v1"]["spec"]["replicas"] == 2


def test_rollouts_never_drop_capacity(prod_render: Render) -> None:
    for name, deployment in deployments(prod_render).items():
        assert deployment["spec"]["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        }, name


def test_progress_deadline_outlasts_the_load_timeout_and_history_is_bounded(prod_render: Render) -> None:
    found = deployments(prod_render)
    assert found["llm-chat-v1"]["spec"]["progressDeadlineSeconds"] > 1200
    assert found["vision-detector-v7"]["spec"]["progressDeadlineSeconds"] > 300
    for name, deployment in found.items():
        assert 0 < deployment["spec"]["revisionHistoryLimit"] <= 10, name


def test_selector_is_the_versions_identity_only(prod_render: Render) -> None:
    deployment = deployments(prod_render)["llm-chat-v2"]
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "llm-chat", "version": "v2"}}


def test_pods_carry_no_do_not_disrupt_annotation(prod_render: Render) -> None:
    for name, deployment in deployments(prod_render).items():
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        assert "karpenter.sh/do-not-disrupt" not in annotations, name


def test_precision_reaches_the_server_the_way_it_reads_it(prod_render: Render) -> None:
    def container(name: str) -> dict[str, Any]:
        return server_container(deployments(prod_render)[name])

    def env(name: str) -> dict[str, Any]:
        return {e["name"]: e.get("value") for e in container(name)["env"]}

    assert container("llm-chat-v1")["args"][-2:] == ["--dtype", "bfloat16"]  # vLLM: a flag, no variable
    assert "DTYPE" not in env("llm-chat-v1")
    assert env("vision-detector-v7")["MODEL_PRECISION"] == "fp16"  # Triton: modelstack's own variable
    assert env("text-embedder-v1")["MODEL_PRECISION"] == "fp32"  # the default


def test_args_are_passed_unchanged(render_edited: Any) -> None:
    captured: dict[str, Any] = {}

    def keep(catalog: dict[str, Any]) -> None:
        captured.update(version_of(catalog, "llm-chat", "v1"))

    render = render_edited(keep)
    args = server_container(of_kind(render, "Deployment")["llm-chat-v1"])["args"]
    assert args == [*captured["args"], "--dtype", "bfloat16"]  # the precision flag follows them
    assert "args" not in server_container(of_kind(render, "Deployment")["text-embedder-v1"])
    assert pod_spec(of_kind(render, "Deployment")["llm-chat-v1"])["containers"][0]["name"] == "server"
