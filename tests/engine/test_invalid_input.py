"""An invalid catalog under the real engine: located messages, a non-zero exit, nothing registered."""

from __future__ import annotations

import json
import re

from tests.engine.engine import RENDER_DIR, Stack, git

LOCATED = re.compile(r"models\.yaml:(\d+):(\d+): models\.llm-chat\.versions\.v1\.weight")


def break_weight(stack: Stack) -> int:
    """Set llm-chat v1's weight to 150 (out of range); returns the line the error must name."""
    path = stack.project / "models.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    in_v1 = False
    for number, line in enumerate(lines, start=1):
        if line.strip() == "v1:" and not in_v1:
            in_v1 = True
        elif in_v1 and line.strip().startswith("weight:"):
            lines[number - 1] = line.replace(line.strip(), "weight: 150")
            path.write_text("".join(lines), encoding="utf-8")
            git(stack.project, "commit", "--quiet", "--all", "-m", "break v1's weight")
            return number
    raise AssertionError("no weight under llm-chat v1 in models.yaml")


def test_invalid_catalog_fails_preview_with_located_messages_and_no_traceback(dev_stack: Stack) -> None:
    line = break_weight(dev_stack)
    result = dev_stack.run("preview", "--stack", "dev", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    match = LOCATED.search(output)
    assert match, output
    assert int(match.group(1)) == line
    assert "Traceback" not in output


def test_invalid_catalog_registers_nothing_on_up(dev_stack: Stack) -> None:
    break_weight(dev_stack)
    result = dev_stack.run("up", "--stack", "dev", "--yes", "--skip-preview", check=False)
    assert result.returncode != 0
    state = json.loads(dev_stack.run("stack", "export", "--stack", "dev").stdout)
    registered = [r["type"] for r in state["deployment"].get("resources") or []]
    assert [t for t in registered if t != "pulumi:pulumi:Stack"] == []
    assert not (dev_stack.project / RENDER_DIR).exists()
