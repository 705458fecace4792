"""Subsets exist whenever a route names them: created before, deleted after (Istio's make-before-break).

Each version's subset is a DestinationRule of its own and the VirtualService depends on every one of them.
The engine then orders both directions: a dependency is created or updated before its dependents, and a
resource the program no longer registers is deleted after every create and update of the run
(docs/traffic-and-releases.md#adding-and-retiring-subsets). These tests check the offline half: the
dependency edges the program registers and the plan of an add and a retire. tests/engine checks the order
of the real engine's steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelstack.engine.diff import Action, plan, read_render
from modelstack.engine.render import run_program
from modelstack.release.edits import plan_retire, plan_weight
from tests.conftest import ROOT
from tests.declared import Declared, recorded_declarations

DR = "DestinationRule.networking.istio.io"
VS = "VirtualService.networking.istio.io"


def _registered_dependencies(monkeypatch: pytest.MonkeyPatch) -> dict[str, Declared]:
    """Each Kubernetes object of a dev render: its kind and the resources it depends on."""
    seen = recorded_declarations(monkeypatch)
    run_program(ROOT, "dev")
    return seen


def test_the_virtual_service_depends_on_every_versions_subset_rule(monkeypatch):
    seen = _registered_dependencies(monkeypatch)
    waits = seen["VirtualService:llm-chat-virtual-service"].depends_on
    assert {
        f"DestinationRule:llm-chat-{rule}" for rule in ("destination-rule", "v1-subset", "v2-subset")
    } <= set(waits)


def test_the_policy_rule_waits_for_every_subset_rule(monkeypatch):
    """A stack from before the split has the subsets in the policy rule: the update that drops them from
    there runs only once every version's own rule exists."""
    seen = _registered_dependencies(monkeypatch)
    waits = seen["DestinationRule:llm-chat-destination-rule"].depends_on
    assert {"DestinationRule:llm-chat-v1-subset", "DestinationRule:llm-chat-v2-subset"} <= set(waits)


def test_no_subset_rule_depends_on_the_routes(monkeypatch):
    """A subset waiting for the VirtualService would be created after the routes that name it."""
    seen = _registered_dependencies(monkeypatch)
    subsets = {n: s for n, s in seen.items() if n.endswith("-subset")}
    assert subsets and all(s.kind == "DestinationRule" for s in subsets.values())
    assert not [n for n, s in subsets.items() if any(d.endswith("-virtual-service") for d in s.depends_on)]


def _plan(tmp_path: Path, catalog_copy: Path, *edits) -> Any:
    from modelstack.cli.commands.release import render_with_catalog

    before = read_render(render_with_catalog(catalog_copy.parent, "dev", catalog_copy, tmp_path / "before"))
    for edit in edits:
        catalog_copy.write_text(edit(catalog_copy.read_text()))
    after = read_render(render_with_catalog(catalog_copy.parent, "dev", catalog_copy, tmp_path / "after"))
    return plan(before, after)


def _steps(result: Any, prefix: str) -> dict[str, Action]:
    return {
        s.key.split("/", 1)[1]: s.action for s in result.steps if s.key.split("/", 2)[2].startswith(prefix)
    }


def test_retiring_a_pinned_version_deletes_its_subset_rule_and_updates_the_routes(tmp_path, catalog_copy):
    """The retire the engine orders: the routes' update (pin-v2 gone), then the subset's delete."""
    catalog_copy.write_text(plan_weight(catalog_copy.read_text(), "llm-chat", "v1", 100).text)
    result = _plan(tmp_path, catalog_copy, lambda text: plan_retire(text, "llm-chat", "v2").text)
    routing = {k: a for k, a in _steps(result, "llm-chat").items() if k.startswith((DR, VS))}
    assert routing == {f"{DR}/llm-chat-v2.yaml": Action.DELETE, f"{VS}/llm-chat.yaml": Action.UPDATE}


def test_pinning_a_new_version_creates_its_subset_rule_and_updates_the_routes(tmp_path, catalog_copy):
    """The add the engine orders: the subset's create, then the routes' update (pin-v3 added)."""

    def add_pinned_v3(text: str) -> str:
        start = text.index("      v2:\n")
        end = text.index("\n\n", start)
        block = text[start:end].replace("v2:", "v3:", 1).replace("weight: 10", "weight: 0")
        block = block.replace("llm-chat-8b-v2", "llm-chat-8b-v3").replace("value: v2}", "value: v3}")
        return text[:end] + "\n" + block + text[end:]

    result = _plan(tmp_path, catalog_copy, add_pinned_v3)
    routing = {k: a for k, a in _steps(result, "llm-chat").items() if k.startswith((DR, VS))}
    assert routing == {f"{DR}/llm-chat-v3.yaml": Action.CREATE, f"{VS}/llm-chat.yaml": Action.UPDATE}
