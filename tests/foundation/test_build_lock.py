"""The toolchain builds' lock (scripts/lib/build-lock.sh): taken only to build, and a waiter starts over.

The engine and the control plane share one cache and one lock, so that two multi-gigabyte Go builds never
run side by side on a small machine. A run that finds everything cached must never wait for the other
toolchain's build (it once did: the engine tests waited 25 minutes for the control plane to compile).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / "scripts" / "lib" / "build-lock.sh"

# A toolchain script in miniature: "builds" (writes built) unless cached (built exists), like the real ones.
SCRIPT = """
set -euo pipefail
CACHE=$1
BUILD_LOCK_SCRIPT=$0 BUILD_LOCK_ARGS=("$@")
log() { printf '%s\\n' "$*" >&2; }
. "{lib}"
if [ -f "$CACHE/built" ]; then
    log cached
else
    build_lock
    log building
    echo built > "$CACHE/built"
fi
"""


def _script(tmp_path: Path) -> Path:
    script = tmp_path / "toolchain.sh"
    script.write_text(SCRIPT.replace("{lib}", str(LIB)), encoding="utf-8")
    return script


def _holding_the_lock(cache: Path, seconds: float, then_build: bool) -> subprocess.Popen[bytes]:
    build = f"echo built > {cache}/built;" if then_build else ""
    holder = subprocess.Popen(["flock", str(cache / ".lock"), "bash", "-c", f"sleep {seconds}; {build}"])
    deadline = time.monotonic() + 5
    while subprocess.run(["flock", "-n", str(cache / ".lock"), "true"]).returncode == 0:
        assert time.monotonic() < deadline, "the holder never took the lock"
        time.sleep(0.05)
    return holder


def test_a_cached_toolchain_never_waits_for_another_build(tmp_path: Path) -> None:
    (tmp_path / "built").write_text("built")
    holder = _holding_the_lock(tmp_path, 30, then_build=False)
    try:
        result = subprocess.run(
            ["bash", str(_script(tmp_path)), str(tmp_path)], capture_output=True, text=True, timeout=10
        )
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["cached"]


def test_a_run_that_waited_starts_over_and_reuses_what_the_other_built(tmp_path: Path) -> None:
    holder = _holding_the_lock(tmp_path, 1, then_build=True)
    result = subprocess.run(
        ["bash", str(_script(tmp_path)), str(tmp_path)], capture_output=True, text=True, timeout=30
    )
    holder.wait()
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("another build holds"), lines
    assert lines[-1] == "cached", lines
    assert "building" not in lines


def test_a_build_with_the_lock_free_takes_it_and_builds(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(_script(tmp_path)), str(tmp_path)], capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["building"]
    assert (tmp_path / "built").read_text().strip() == "built"
