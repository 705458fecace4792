"""Each kind of change, as the text plan, the PR comment (Markdown) and JSON show it: all of it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelstack.engine import plan_format
from modelstack.engine.diff import Plan, plan

EXPR = (
    "(histogram_quantile(0.99, sum by (destination_workload, le) (rate(istio_request_duration_milliseconds_bucket"
    '{reporter="destination",destination_workload=~"(llm-chat-v1|llm-chat-v2)"}[5m]))) > 800)'
)
CONFIG = '{\n  "batch": 32,\n  "dtype": "bf16"\n}'
LONG_ARG = "--speculative-config=" + "x" * 90


def obj(kind: str, spec: dict[str, Any], model: str = "llm-chat") -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": model, "labels": {"app": model}}, "spec": spec}


def sample_plan() -> Plan:
    route = [
        {"destination": {"host": "h", "subset": "v1"}, "weight": 90},
        {"destination": {"host": "h", "subset": "v2"}, "weight": 10},
    ]
    base = {
        "vs.yaml": obj("VirtualService", {"http": [{"name": "weighted", "route": route}]}),
        "rule.yaml": obj(
            "PrometheusRule", {"groups": [{"name": "g", "rules": [{"alert": "High", "expr": EXPR}]}]}
        ),
        "cm.yaml": obj("Deployment", {"config": CONFIG, "args": [LONG_ARG]}),
    }
    head = json.loads(json.dumps(base))
    head["vs.yaml"]["spec"]["http"][0]["route"][0]["weight"] = 80
    head["vs.yaml"]["spec"]["http"][0]["route"][1]["weight"] = 20
    head["vs.yaml"]["spec"]["http"][0]["route"].append({"destination": {"host": "h", "subset": "v3"}})
    head["rule.yaml"]["spec"]["groups"][0]["rules"][0]["expr"] = EXPR.replace("> 800", "> 500")
    head["cm.yaml"]["spec"]["config"] = CONFIG.replace("32", "64")
    head["cm.yaml"]["spec"]["args"] = [LONG_ARG + "y"]
    weights_before = {"llm-chat": {"v1": 90, "v2": 10}}
    weights_after = {"llm-chat": {"v1": 80, "v2": 20, "v3": 0}}
    return plan(base, head, weights_before, weights_after)


@pytest.fixture(scope="module")
def outputs() -> dict[str, str]:
    sample = sample_plan()
    return {
        "text": plan_format.as_text(sample, "Preview"),
        "markdown": plan_format.as_markdown(sample, "Preview", warnings=["models.yaml:1:1: warning: w"]),
        "json": plan_format.as_json(sample),
    }


FORMATS = ["text", "markdown", "json"]


@pytest.mark.parametrize("form", ["text", "markdown"])
def test_the_weight_change_reads_as_the_new_split(outputs: dict[str, str], form: str) -> None:
    assert "v1 90 → 80, v2 10 → 20, v3 new → 0" in outputs[form]


def test_the_json_plan_names_each_models_split() -> None:
    (model,) = json.loads(plan_format.as_json(sample_plan()))["models"]
    assert model == {
        "model": "llm-chat",
        "weightsBefore": {"v1": 90, "v2": 10},
        "weightsAfter": {"v1": 80, "v2": 20, "v3": 0},
        "traffic": "v1 90 → 80, v2 10 → 20, v3 new → 0",
    }


@pytest.mark.parametrize("form", ["text", "markdown"])
def test_scalars_show_before_and_after_in_full(outputs: dict[str, str], form: str) -> None:
    assert "spec.http[weighted].route[v1].weight: 90 → 80" in outputs[form]
    assert (
        "spec.http[weighted].route[v3]: (absent) → " + '{"destination": {"host": "h", "subset": "v3"}}'
        in (outputs[form])
    )


@pytest.mark.parametrize("form", ["text", "markdown"])
def test_a_long_expression_shows_the_changed_words(outputs: dict[str, str], form: str) -> None:
    assert "spec.groups[g].rules[High].expr: " in outputs[form]
    assert "> [-800-]{+500+})" in outputs[form]


@pytest.mark.parametrize("form", ["text", "markdown"])
def test_a_long_single_word_value_is_not_cut(outputs: dict[str, str], form: str) -> None:
    assert f"[-{'x' * 90}-]{{+{'x' * 90}y+}}" in outputs[form]


@pytest.mark.parametrize("form", ["text", "markdown"])
def test_a_multi_line_value_shows_the_changed_lines(outputs: dict[str, str], form: str) -> None:
    assert '-   "batch": 32,' in outputs[form]
    assert '+   "batch": 64,' in outputs[form]


def test_json_keeps_full_values_and_adds_the_diff_of_long_strings(outputs: dict[str, str]) -> None:
    changes = {c["path"]: c for s in json.loads(outputs["json"])["steps"] for c in s["changes"]}
    expr = changes["spec.groups[g].rules[High].expr"]
    assert expr["before"] == EXPR and expr["after"] == EXPR.replace("> 800", "> 500")
    assert "[-800-]{+500+}" in expr["diff"][0]
    assert changes["spec.http[weighted].route[v3]"]["status"] == "added"
    assert "diff" not in changes["spec.http[weighted].route[v1].weight"]


def test_the_markdown_comment_has_a_table_per_model_and_the_warnings(outputs: dict[str, str]) -> None:
    markdown = outputs["markdown"]
    assert "| model | traffic | create | update | replace | delete |" in markdown
    assert "| `llm-chat` | v1 90 → 80, v2 10 → 20, v3 new → 0 | 0 | 3 | 0 | 0 |" in markdown
    assert "- models.yaml:1:1: warning: w" in markdown


def test_a_value_holding_backticks_cannot_close_the_code_block() -> None:
    result = plan({"a.yaml": obj("ConfigMap", {"x": "a"})}, {"a.yaml": obj("ConfigMap", {"x": "```"})})
    markdown = plan_format.as_markdown(result, "Preview")
    assert "\n````diff\n" in markdown and markdown.rstrip().endswith("````")
