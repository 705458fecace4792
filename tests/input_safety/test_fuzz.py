"""Issue 14: a seeded mutation campaign over the catalog and both stack files (tests/input_safety/fuzz.py)
— no traceback, no exit but 0 or 2, no unlocated exit 2, no file touched by a failing run, no hang, no
crash, and every exit-0 render accepted by `../shared/tools/validate_manifests.py`."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, copy_project, limit_memory

SEED = 14
VALIDATE_CASES = 300
RENDER_CASES = 40
RUN_SECONDS = 600
"""Bound of the whole campaign (a hang guard, not a speed check: it takes about a minute)."""


def _campaign(project: Path, results: Path) -> list[dict]:
    """Run the fuzzer to the end, restarting it after the case an interpreter crash stopped in."""
    start, crashed = 0, []
    while True:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.input_safety.fuzz",
                str(project),
                str(results),
                "--seed",
                str(SEED),
                "--validate",
                str(VALIDATE_CASES),
                "--render",
                str(RENDER_CASES),
                "--start",
                str(start),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=RUN_SECONDS,
            check=False,
            preexec_fn=limit_memory,
        )
        rows = [json.loads(line) for line in results.read_text().splitlines()]
        finished = {r["index"] for r in rows if "index" in r}
        started = [r["started"] for r in rows if "started" in r]
        if done.returncode == 0:
            break
        unfinished = [i for i in started if i not in finished]
        assert unfinished, f"the fuzzer failed outside a case: {done.stderr[-2000:]}"
        crashed.append({"index": unfinished[-1], "problems": [f"interpreter died ({done.returncode})"]})
        start = unfinished[-1] + 1
    return [r for r in rows if "index" in r] + crashed


def _invalid_renders(renders: Path, work: Path) -> list[str]:
    """Validate every distinct rendered file once (most renders share most objects)."""
    validator = ROOT.parent / "shared" / "tools" / "validate_manifests.py"
    if not validator.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{validator} is missing: CI must have ../shared beside the repository")
        return []
    unique = work / "unique"
    unique.mkdir()
    origin: dict[str, str] = {}
    for path in sorted(renders.rglob("*.yaml")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:20]
        if digest not in origin:
            origin[digest] = str(path.relative_to(renders))
            (unique / f"{digest}.yaml").write_bytes(path.read_bytes())
    if not origin:
        return []
    checked = subprocess.run(
        [sys.executable, str(validator), str(unique)], capture_output=True, text=True, check=False
    )
    if checked.returncode == 0:
        return []
    failures = [line for line in checked.stdout.splitlines() if line.startswith(str(unique))]
    return [
        f"{origin[Path(line.split(':', 1)[0]).stem]}: {line.split(':', 1)[1].strip()}" for line in failures
    ] or [checked.stdout[-2000:] + checked.stderr[-2000:]]


def test_fuzzed_catalogs_and_stack_files_only_ever_render_or_fail_located(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    results = tmp_path / "results.jsonl"
    outcomes = _campaign(project, results)
    assert len(outcomes) == VALIDATE_CASES + RENDER_CASES
    findings = [o for o in outcomes if o["problems"]]
    assert findings == [], json.dumps(findings[:5], indent=1)
    # The campaign is only worth its time if it reaches both outcomes of both commands.
    reached = {(o["command"], o["code"]) for o in outcomes}
    assert reached == {("validate", 0), ("validate", 2), ("render", 0), ("render", 2)}
    assert _invalid_renders(tmp_path / "renders", tmp_path) == []
