"""Every alert expression, every KEDA trigger query and every adapter metricsQuery is PromQL that
Prometheus's own parser accepts."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelstack.engine.render import Render
from tests.locks import one_at_a_time

from .conftest import ADAPTER, ROOT, of_kind
from .test_adapter_rules import adapter_config, series_name
from .test_observability import EMBEDDER

pytestmark = pytest.mark.integration
SETUP_SCRIPT = ROOT / "scripts" / "setup-prometheus.sh"


@pytest.fixture(scope="session")
def promtool() -> str:
    """promtool from PATH, installed by scripts/setup-prometheus.sh when missing."""
    found = shutil.which("promtool")
    if found:
        return found
    with one_at_a_time("setup-prometheus"):  # parallel workers: one apt-get at a time
        proc = subprocess.run(
            ["bash", str(SETUP_SCRIPT)], capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
    if proc.returncode != 0:
        pytest.skip(f"promtool cannot be installed ({SETUP_SCRIPT.name}): {proc.stderr.strip()[-500:]}")
    paths = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return paths["promtool"]


def check_rules(
    promtool: str, groups: list[dict[str, Any]], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)


def alert_groups(render: Render) -> list[dict[str, Any]]:
    return [group for rule in of_kind(render, "PrometheusRule").values() for group in rule["spec"]["groups"]]


def adapter_query(rule: dict[str, Any], namespace: str, external: bool) -> str:
    """A metricsQuery as the adapter would send it, with its template placeholders filled in."""
    matchers = (
        f'namespace="{namespace}",app="m",version="v1"'
        if external
        else f'namespace="{namespace}",pod=~"m-v1-a|m-v1-b"'
    )
    values = {"Series": series_name(rule), "LabelMatchers": matchers, "GroupBy": "pod"}
    return re.sub(r"<<\.(\w+)>>", lambda m: values[m.group(1)], rule["metricsQuery"])


def adapter_groups(render: Render, adapter_namespace: str, namespace: str) -> list[dict[str, Any]]:
    config = adapter_config(render, adapter_namespace)
    queries = [adapter_query(r, namespace, external=False) for r in config["rules"]]
    queries += [adapter_query(r, namespace, external=True) for r in config["externalRules"]]
    records = [{"record": f"modelstack:adapter_check_{i}", "expr": q} for i, q in enumerate(queries)]
    return [{"name": "adapter-queries", "rules": records}]


def test_promtool_accepts_a_broken_expression_as_broken(promtool: str, tmp_path: Path) -> None:
    # The check below is only worth something if promtool really parses the expressions.
    broken = [{"name": "broken", "rules": [{"alert": "X", "expr": "sum(rate(x[5m])) >", "for": "1m"}]}]

    assert check_rules(promtool, broken, tmp_path).returncode != 0


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_promtool_accepts_every_alert_of_the_stack(
    promtool: str, render_of, stack: str, tmp_path: Path
) -> None:
    groups = alert_groups(render_of(stack))
    assert groups

    result = check_rules(promtool, groups, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_nonfinite_and_external_variants(
    promtool: str, render_catalog, tmp_path: Path
) -> None:
    render = render_catalog(
        EMBEDDER
        + EMBEDDER.replace("embedder:", "external-embedder:").replace(
            "{target: 6}", "{target: 6, type: External}"
        ),
        ADAPTER,
    )
    groups = alert_groups(render) + adapter_groups(render, "metrics", "ml-test")
    assert any(r.get("alert") == "ModelNonFiniteOutputs" for g in groups for r in g["rules"])

    result = check_rules(promtool, groups, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_every_adapter_metrics_query(
    promtool: str, prod_adapter_render: Render, tmp_path: Path
) -> None:
    groups = adapter_groups(prod_adapter_render, "monitoring", "ml-serving")
    assert len(groups[0]["rules"]) == 2

    result = check_rules(promtool, groups, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_promtool_accepts_every_keda_trigger_query_of_the_stack(
    promtool: str, render_of, stack: str, tmp_path: Path
) -> None:
    triggers = [
        trigger
        for scaled in of_kind(render_of(stack), "ScaledObject").values()
        for trigger in scaled["spec"]["triggers"]
    ]
    assert triggers
    records = [
        {"record": f"modelstack:keda_check_{i}", "expr": t["metadata"]["query"]}
        for i, t in enumerate(triggers)
    ]

    result = check_rules(promtool, [{"name": "keda-queries", "rules": records}], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
