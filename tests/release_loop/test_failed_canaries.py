"""The rollback's catalog edit and the schema rules of what the loop writes and reads."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from components.catalog.analysis import AnalysisSpec
from components.catalog.errors import CatalogError
from components.catalog.stack_config import ReleaseConfig
from components.validation.loader import load_catalog, load_stack_config
from modelstack.release.edits import ReleaseError, plan_failed_rollback, with_failed_canary
from tests.release.conftest import ROOT, catalog_copy

__all__ = ["catalog_copy"]

CATALOG = (ROOT / "models.yaml").read_text(encoding="utf-8")


def added_lines(before: str, after: str) -> list[str]:
    diff = difflib.ndiff(before.splitlines(), after.splitlines())
    return [line[2:] for line in diff if line.startswith("+ ")]


def test_rollback_sends_everything_to_stable_and_adds_one_failed_entry() -> None:
    edit = plan_failed_rollback(CATALOG, "llm-chat", "v2", "v1", "p99-latency 2450 > max 800")

    assert edit.after == {"v1": 100, "v2": 0}
    assert added_lines(CATALOG, edit.text) == [
        "    failedCanaries:",
        '      v2: "p99-latency 2450 > max 800"',
        "        weight: 100",
        "        weight: 0",
    ]
    assert yaml.safe_load(edit.text)["models"]["llm-chat"]["failedCanaries"] == {
        "v2": "p99-latency 2450 > max 800"
    }


def test_a_second_failed_canary_joins_the_existing_block() -> None:
    once = with_failed_canary(CATALOG, "llm-chat", "v2", "first")

    twice = with_failed_canary(once, "llm-chat", "v1", 'second: "quoted"\nacross lines')

    assert yaml.safe_load(twice)["models"]["llm-chat"]["failedCanaries"] == {
        "v2": "first",
        "v1": 'second: "quoted" across lines',
    }
    assert added_lines(once, twice) == ['      v1: "second: \\"quoted\\" across lines"']


def test_a_flow_style_failed_canaries_is_refused() -> None:
    text = CATALOG.replace(
        "    versions:\n      v1:\n        image: registry.ml.example.com/llm",
        "    failedCanaries: {}\n    versions:\n      v1:\n        image: registry.ml.example.com/llm",
        1,
    )

    with pytest.raises(ReleaseError, match="block style"):
        with_failed_canary(text, "llm-chat", "v2", "x")


def test_a_failed_canary_with_traffic_is_a_located_catalog_error(catalog_copy: Path) -> None:
    text = CATALOG.replace(
        "    versions:\n      v1:\n        image: registry.ml.example.com/llm",
        '    failedCanaries:\n      v2: "rolled back"\n    versions:\n      v1:\n        image: registry.ml.example.com/llm',
        1,
    )
    catalog_copy.write_text(text, encoding="utf-8")

    with pytest.raises(CatalogError) as caught:
        load_catalog(catalog_copy, load_stack_config(catalog_copy.parent, "dev"))

    message = str(caught.value)
    assert "models.llm-chat" in message
    assert "v2 is listed in failedCanaries but has weight 10" in message
    assert "remove failedCanaries.v2 to release it again" in message


def test_failed_canaries_must_name_a_version(catalog_copy: Path) -> None:
    text = CATALOG.replace(
        "    versions:\n      v1:\n        image: registry.ml.example.com/llm",
        '    failedCanaries:\n      v9: "x"\n    versions:\n      v1:\n        image: registry.ml.example.com/llm',
        1,
    )
    catalog_copy.write_text(text, encoding="utf-8")

    with pytest.raises(CatalogError, match="failedCanaries names 'v9', which is not a version"):
        load_catalog(catalog_copy, load_stack_config(catalog_copy.parent, "dev"))


def test_steps_take_a_weight_or_a_step_with_pause_and_approval() -> None:
    spec = AnalysisSpec.model_validate({"steps": [20, {"weight": 50, "pause": "15m", "approval": True}, 100]})

    assert spec.weights == (20, 50, 100)
    assert spec.pause_at(50) == "15m" and spec.pause_at(20) == "5m"
    assert spec.step_at(50) is not None and spec.step_at(50).approval


def test_a_progress_deadline_not_longer_than_a_pause_is_refused() -> None:
    with pytest.raises(ValidationError, match="progressDeadline 10m must be longer than every pause"):
        AnalysisSpec.model_validate({"pause": "10m", "progressDeadline": "10m"})


@pytest.mark.parametrize("field", ["pause", "progressDeadline"])
def test_loop_durations_are_promql_durations(field: str) -> None:
    with pytest.raises(ValidationError, match="is not a PromQL duration"):
        AnalysisSpec.model_validate({field: "5 minutes"})


@pytest.mark.parametrize(
    ("field", "value"),
    [("accuracyDropPercent", 0), ("accuracyDropPercent", 100), ("confidenceDrift", 1.5), ("failureLimit", 0)],
)
def test_quality_bounds_out_of_range_are_refused(field: str, value: float) -> None:
    with pytest.raises(ValidationError):
        AnalysisSpec.model_validate({field: value})


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/x", "hooks.example.com", "http://", "http://a b"])
def test_a_webhook_must_be_an_http_url(url: str) -> None:
    with pytest.raises(ValidationError, match="is not an http"):
        ReleaseConfig.model_validate({"webhooks": [{"url": url}]})


def test_a_webhook_format_is_generic_or_slack() -> None:
    config = ReleaseConfig.model_validate(
        {
            "webhooks": [
                {"url": "https://h.example.com/a"},
                {"url": "https://h.example.com/b", "format": "slack"},
            ]
        }
    )

    assert [w.format for w in config.webhooks] == ["generic", "slack"]
    with pytest.raises(ValidationError):
        ReleaseConfig.model_validate({"webhooks": [{"url": "https://h.example.com/a", "format": "teams"}]})
