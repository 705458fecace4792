"""The dev stack under the real engine: init, preview, up, a no-change preview, destroy.

The offline engine (`modelstack render`) and the real one run the same program; whatever the provider
writes with `renderYamlToDirectory` must be, field for field, what `modelstack render` writes.
"""

from __future__ import annotations

import json

from tests.engine.engine import RENDER_DIR, Deployed, Stack, engine_operations, read_objects


def test_first_preview_creates_exactly_the_objects_modelstack_renders(deployed_dev: Deployed) -> None:
    operations = engine_operations(deployed_dev.first_preview)
    assert set(operations) == set(deployed_dev.offline_objects)
    assert set(operations.values()) == {"create"}


def test_up_writes_the_objects_modelstack_render_writes_field_for_field(deployed_dev: Deployed) -> None:
    real = read_objects(deployed_dev.stack.project / RENDER_DIR)
    assert sorted(real) == sorted(deployed_dev.offline_objects)
    different = [key for key in real if real[key] != deployed_dev.offline_objects[key]]
    assert not different, f"{len(different)} objects differ, first: {different[0]}:\n" + json.dumps(
        {"engine": real[different[0]], "offline": deployed_dev.offline_objects[different[0]]}, indent=1
    )


def test_up_exports_the_outputs_modelstack_render_writes(deployed_dev: Deployed) -> None:
    stack = deployed_dev.stack
    exported = stack.engine.outputs(stack.project, stack.name, "--show-secrets")
    assert exported == deployed_dev.offline_outputs, json.dumps(exported, sort_keys=True)


def test_preview_after_up_shows_no_changes(deployed_dev: Deployed) -> None:
    again = deployed_dev.stack.preview("--expect-no-changes")
    assert engine_operations(again) == {}
    summary = again.get("changeSummary", {})
    assert set(summary) <= {"same"}, summary


def test_destroy_removes_every_resource(dev_stack: Stack) -> None:
    dev_stack.up()
    rendered = dev_stack.project / RENDER_DIR
    assert any(rendered.rglob("*.yaml"))
    dev_stack.run("destroy", "--stack", "dev", "--yes", "--skip-preview")
    state = json.loads(dev_stack.run("stack", "export", "--stack", "dev").stdout)
    assert state["deployment"].get("resources") in (None, [])
    assert not any(rendered.rglob("*.yaml"))
