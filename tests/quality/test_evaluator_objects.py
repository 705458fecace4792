"""The evaluator's objects line up with each other and with the model's: names, selectors, policies."""

from __future__ import annotations

from typing import Any

from components.catalog.stack_config import StackConfig
from components.gpu.capacity_report import capacity_plan
from components.quality.manifests import authorization_policy_manifest, evaluator_files
from components.traffic.names import principal
from components.validation.loader import load_catalog, load_stack_config
from modelstack.engine.render import Render, run_program
from tests.quality.conftest import MODEL, ROOT, only, repo_catalog, with_canary, write_project

EVALUATOR = f"{MODEL}-golden-eval"


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _pod(render: Render) -> dict[str, Any]:
    return only(render, "Deployment", EVALUATOR)["spec"]["template"]


def test_only_models_with_a_golden_set_register_an_evaluator(dev_render: Render) -> None:
    evaluators = [r.name for r in dev_render.resources if r.type == "modelstack:quality:GoldenSetEvaluator"]

    assert evaluators == [MODEL]


def test_the_config_map_name_changes_with_the_golden_set(dev_render: Render) -> None:
    stack = load_stack_config(ROOT, "dev")
    spec = load_catalog(ROOT / "models.yaml", stack).catalog.models[MODEL]
    golden = (ROOT / "examples" / "golden-set" / "golden.json").read_text(encoding="utf-8")
    edited = golden.replace('"label":3', '"label":2', 1)
    assert edited != golden

    rendered = only(dev_render, "Deployment", EVALUATOR)["spec"]["template"]["spec"]["volumes"][0]
    before = evaluator_files(MODEL, spec, stack.namespace, golden).config_map_name
    after = evaluator_files(MODEL, spec, stack.namespace, edited).config_map_name

    assert rendered["configMap"]["name"] == before
    assert after != before and after.startswith(f"{EVALUATOR}-")


def test_the_config_map_is_immutable_and_holds_program_golden_set_and_spec(dev_render: Render) -> None:
    name = _pod(dev_render)["spec"]["volumes"][0]["configMap"]["name"]
    config = only(dev_render, "ConfigMap", name)

    assert config["immutable"] is True
    assert set(config["data"]) == {"golden.py", "golden.json", "spec.json"}
    assert config["data"]["golden.json"] == (ROOT / "examples" / "golden-set" / "golden.json").read_text()


def test_each_versions_policy_admits_the_evaluators_identity(canary_render: Render) -> None:
    pod = _pod(canary_render)
    policy = only(canary_render, "AuthorizationPolicy", MODEL)["spec"]
    evaluator = principal("ml-dev", pod["spec"]["serviceAccountName"])
    allowed = [p for rule in policy["rules"] for f in rule["from"] for p in f["source"].get("principals", [])]
    for version in ("v1", "v2"):
        version_pod = only(canary_render, "Deployment", f"{MODEL}-{version}")["spec"]["template"]
        assert _selects(policy["selector"]["matchLabels"], version_pod["metadata"]["labels"])
    assert evaluator in allowed


def test_the_pod_monitor_selects_the_evaluators_pod_and_port(dev_render: Render) -> None:
    pod = _pod(dev_render)
    monitor = only(dev_render, "PodMonitor", EVALUATOR)["spec"]
    [endpoint] = monitor["podMetricsEndpoints"]
    [container] = pod["spec"]["containers"]

    assert _selects(monitor["selector"]["matchLabels"], pod["metadata"]["labels"])
    assert endpoint["port"] in {p["name"] for p in container["ports"]}
    assert (endpoint["path"], endpoint["honorLabels"]) == ("/metrics", True)


def test_the_scrape_passes_the_evaluators_mutual_tls_and_policy(dev_render: Render) -> None:
    """Sidecars: Prometheus outside the mesh scrapes in plain text, so the metrics port alone is
    PERMISSIVE and the ALLOW policy lets only GET of the scrape path through it."""
    pod = _pod(dev_render)
    [container] = pod["spec"]["containers"]
    endpoint = only(dev_render, "PodMonitor", EVALUATOR)["spec"]["podMetricsEndpoints"][0]
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == endpoint["port"])
    peer = only(dev_render, "PeerAuthentication", EVALUATOR)["spec"]
    policy = only(dev_render, "AuthorizationPolicy", EVALUATOR)["spec"]
    [rule] = policy["rules"]

    assert _selects(peer["selector"]["matchLabels"], pod["metadata"]["labels"])
    assert peer["portLevelMtls"] == {str(port): {"mode": "PERMISSIVE"}}
    assert _selects(policy["selector"]["matchLabels"], pod["metadata"]["labels"])
    assert rule["to"] == [
        {"operation": {"ports": [str(port)], "methods": ["GET"], "paths": [endpoint["path"]]}}
    ]


def test_under_ambient_only_prometheus_reaches_the_metrics_port() -> None:
    stack = StackConfig.model_validate(
        {
            "namespace": "ml-test",
            "istio": {"dataplane": "ambient"},
            "monitoring": {"prometheusServiceAccount": "monitoring/prometheus-k8s"},
        }
    )
    [rule] = authorization_policy_manifest(MODEL, stack)["spec"]["rules"]

    assert rule["from"] == [{"source": {"principals": [principal("monitoring", "prometheus-k8s")]}}]
    assert rule["to"] == [{"operation": {"ports": ["9464"]}}]


def test_the_evaluators_pod_is_selected_by_none_of_the_models_selectors(canary_render: Render) -> None:
    labels = _pod(canary_render)["metadata"]["labels"]
    selectors = [
        only(canary_render, "Service", MODEL)["spec"]["selector"],
        only(canary_render, "PodMonitor", MODEL)["spec"]["selector"]["matchLabels"],
        only(canary_render, "AuthorizationPolicy", MODEL)["spec"]["selector"]["matchLabels"],
        *(only(canary_render, "Service", f"{MODEL}-{v}")["spec"]["selector"] for v in ("v1", "v2")),
    ]

    assert not any(_selects(s, labels) for s in selectors)


def test_the_evaluator_runs_on_the_cpu_pool_and_counts_in_its_plan(tmp_path) -> None:
    project = write_project(tmp_path / "p", with_canary(repo_catalog()))
    stack = load_stack_config(project, "prod")
    catalog = load_catalog(project / "models.yaml", stack).catalog

    pools = {p["pool"]: p for p in capacity_plan(catalog, stack)["pools"]}
    cpu = next(d for d in pools["cpu-general"]["resources"] if d["unit"] == "cpu")
    rows = {(v["model"], v["version"]): v for v in cpu["versions"]}

    # 200m for the evaluator plus its Istio sidecar's 100m (prod's istio.sidecarResources default).
    assert rows[(MODEL, "golden-eval")]["perReplica"] == 0.3
    assert rows[(MODEL, "golden-eval")]["replicas"] == {"min": 1, "max": 1}


def test_the_evaluators_budget_lets_drains_evict_it(dev_render: Render) -> None:
    pod = _pod(dev_render)
    budget = only(dev_render, "PodDisruptionBudget", EVALUATOR)["spec"]

    assert _selects(budget["selector"]["matchLabels"], pod["metadata"]["labels"])
    assert (budget["maxUnavailable"], budget["unhealthyPodEvictionPolicy"]) == (1, "AlwaysAllow")


def test_a_changed_golden_set_starts_the_new_evaluator_before_the_old_stops(dev_render: Render) -> None:
    strategy = only(dev_render, "Deployment", EVALUATOR)["spec"]["strategy"]

    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}


def test_a_catalog_in_a_subdirectory_ships_the_golden_set_beside_it(tmp_path) -> None:
    """Catalog paths are relative to the catalog file: the rules and the rendered ConfigMap agree."""
    project = write_project(
        tmp_path / "p", repo_catalog(), lambda t: t + "  modelstack:catalog: sub/models.yaml\n"
    )
    sub = project / "sub"
    sub.mkdir()
    (project / "models.yaml").rename(sub / "models.yaml")
    (project / "examples").rename(sub / "examples")
    golden = sub / "examples" / "golden-set" / "golden.json"
    golden.write_text(golden.read_text().replace('"label":3', '"label":2', 1))

    render = run_program(project, "dev")
    name = _pod(render)["spec"]["volumes"][0]["configMap"]["name"]

    assert only(render, "ConfigMap", name)["data"]["golden.json"] == golden.read_text()
