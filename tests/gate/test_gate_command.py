"""`modelstack gate`: version selection, exit codes, output and --apply, against the real Prometheus."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from components.catalog.analysis import AnalysisSpec
from modelstack.cli.commands import gate as gate_command
from modelstack.cli.commands.gate import GateInputs, command, pick_canary, pick_stable

from .series import AT, NAMESPACE


@dataclass(frozen=True)
class Version:
    weight: int


@dataclass(frozen=True)
class Model:
    versions: dict[str, Version]
    analysis: AnalysisSpec | None = None


@dataclass
class FakeRelease:
    calls: list[tuple[Path, str, str, int]] = field(default_factory=list)

    def set_weight(self, catalog_path: Path, model: str, version: str, weight: int) -> None:
        self.calls.append((catalog_path, model, version, weight))


def canary_at_10(**versions: int) -> Model:
    return Model({name: Version(w) for name, w in (versions or {"v1": 90, "v2": 10}).items()})


@pytest.fixture
def catalog(monkeypatch: pytest.MonkeyPatch) -> dict[str, Model]:
    """The models the command sees, in place of models.yaml and the stack configuration."""
    models = {name: canary_at_10() for name in ("healthy", "slow", "idle")}
    monkeypatch.setattr(
        gate_command,
        "load_inputs",
        lambda path, stack: GateInputs(models, NAMESPACE, path or Path("models.yaml")),
    )
    return models


@pytest.fixture
def release(monkeypatch: pytest.MonkeyPatch) -> FakeRelease:
    fake = FakeRelease()
    module = types.ModuleType("modelstack.release.edits")
    module.set_weight = fake.set_weight  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "modelstack.release.edits", module)
    return fake


CATALOG = """
apiVersion: modelstack/v1
models:
  healthy:
    server: triton
    analysis: {window: 5m, steps: [10, 50, 100]}
    versions:
      v1:
        image: registry.example.com/m@sha256:1111111111111111111111111111111111111111111111111111111111111111
        weight: 90
        resources: {cpu: "1", memory: 1Gi}
      v2:
        image: registry.example.com/m@sha256:2222222222222222222222222222222222222222222222222222222222222222
        weight: 10
        resources: {cpu: "1", memory: 1Gi}
"""


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(command, list(args))


def gate_args(url: str, model: str, *extra: str) -> list[str]:
    return [model, "--prometheus", url, "--at", AT.isoformat().replace("+00:00", "Z"), *extra]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("model", "code", "word"), [("healthy", 0, "PROMOTE"), ("idle", 10, "HOLD"), ("slow", 11, "ROLLBACK")]
)
def test_exit_code_and_first_line_name_the_decision(
    prometheus_url: str, catalog: dict[str, Model], model: str, code: int, word: str
) -> None:
    result = run(*gate_args(prometheus_url, model))

    assert result.exit_code == code, result.output
    assert result.output.startswith(f"{word} {model}: canary v2 vs stable v1")


@pytest.mark.integration
def test_report_lists_every_check_with_its_value(prometheus_url: str, catalog: dict[str, Model]) -> None:
    result = run(*gate_args(prometheus_url, "slow"))

    assert "p99-latency" in result.output and "2450" in result.output
    assert "error-rate" in result.output and "request-count" in result.output


@pytest.mark.integration
def test_json_output_carries_the_decision_and_every_measurement(
    prometheus_url: str, catalog: dict[str, Model]
) -> None:
    result = run(*gate_args(prometheus_url, "healthy", "--json"))

    document = json.loads(result.output)
    assert document["decision"] == "promote"
    assert document["next_weight"] == 50
    assert {c["name"] for c in document["checks"]} == {"request-count", "p99-latency", "error-rate"}


@pytest.mark.integration
def test_analysis_block_of_the_model_sets_the_thresholds(
    prometheus_url: str, catalog: dict[str, Model]
) -> None:
    catalog["slow"] = Model(canary_at_10().versions, AnalysisSpec(p99_latency_ms=5000))

    assert run(*gate_args(prometheus_url, "slow")).exit_code == 0


@pytest.mark.integration
def test_apply_writes_the_next_step_weight_on_promote(
    prometheus_url: str, catalog: dict[str, Model], release: FakeRelease
) -> None:
    result = run(*gate_args(prometheus_url, "healthy", "--apply", "--catalog", "cat.yaml"))

    assert result.exit_code == 0, result.output
    assert release.calls == [(Path("cat.yaml"), "healthy", "v2", 50)]


@pytest.mark.integration
def test_apply_sets_the_canary_weight_to_zero_on_rollback(
    prometheus_url: str, catalog: dict[str, Model], release: FakeRelease
) -> None:
    result = run(*gate_args(prometheus_url, "slow", "--apply"))

    assert result.exit_code == 11
    assert release.calls == [(Path("models.yaml"), "slow", "v2", 0)]


@pytest.mark.integration
def test_apply_changes_nothing_on_hold(
    prometheus_url: str, catalog: dict[str, Model], release: FakeRelease
) -> None:
    result = run(*gate_args(prometheus_url, "idle", "--apply"))

    assert result.exit_code == 10
    assert release.calls == []


def test_unreachable_prometheus_exits_1(catalog: dict[str, Model]) -> None:
    result = run("healthy", "--prometheus", "http://127.0.0.1:9")

    assert result.exit_code == 1
    assert "cannot reach Prometheus" in result.output


def test_unknown_model_is_invalid_input_exit_2(catalog: dict[str, Model]) -> None:
    result = run("nope", "--prometheus", "http://127.0.0.1:9")

    assert result.exit_code == 2
    assert "not in the catalog" in result.output


def test_at_without_a_time_zone_is_a_usage_error(catalog: dict[str, Model]) -> None:
    result = run("healthy", "--prometheus", "http://127.0.0.1:9", "--at", "2024-05-01T00:30:00")

    assert result.exit_code == 2
    assert "time zone" in result.output


def test_canary_is_the_lowest_weight_between_0_and_100() -> None:
    assert pick_canary(canary_at_10(v1=70, v2=20, v3=10).versions) == "v3"


def test_canary_tie_goes_to_the_newest_version() -> None:
    assert pick_canary(canary_at_10(v1=50, v2=50).versions) == "v2"


def test_dark_launched_version_is_not_picked_as_canary() -> None:
    with pytest.raises(click.ClickException, match="--canary"):
        pick_canary(canary_at_10(v1=100, v2=0).versions)


def test_stable_is_the_highest_weight_other_than_the_canary() -> None:
    assert pick_stable(canary_at_10(v1=20, v2=70, v3=10).versions, "v3") == "v2"


@pytest.mark.integration
def test_catalog_and_stack_namespace_are_read_through_the_catalog_loader(
    prometheus_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "models.yaml").write_text(CATALOG)
    (tmp_path / "Pulumi.test.yaml").write_text(f"config:\n  modelstack:namespace: {NAMESPACE}\n")
    monkeypatch.chdir(tmp_path)

    result = run(*gate_args(prometheus_url, "healthy", "--stack", "test", "--json"))

    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert (document["namespace"], document["canary"], document["stable"]) == (NAMESPACE, "v2", "v1")
