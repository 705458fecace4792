"""CrossGuard under the real engine: the policy pack passes the dev stack and catches what the
catalog cannot express; the offline `modelstack check` reports the same violations."""

from __future__ import annotations

import re
import subprocess

from tests.engine.engine import RENDER_DIR, ROOT, Deployed, Stack, git
from tests.engine.violations import BY_TAG, PRIVILEGED, PROGRAM, UNTOLERATED_GPU_POD

EXPECTED = {
    ("images-by-digest", BY_TAG[0]),
    ("accelerators-requests-equal-limits", UNTOLERATED_GPU_POD),
    ("restricted-pod-security", PRIVILEGED),
}
# pulumi prints a mandatory violation as `[mandatory]  <policy>  (<type>: <resource name>)`
REAL_VIOLATION = re.compile(r"\[mandatory\]\s+(\S+)\s+\(kubernetes:apps/v1:Deployment: ([\w.-]+)\)")
# modelstack check prints `[mandatory] <policy>: Deployment <namespace>/<name>: <message>`
OFFLINE_VIOLATION = re.compile(r"^\[mandatory\] (\S+): Deployment [\w-]+/([\w.-]+): ", re.MULTILINE)


def test_policy_pack_passes_the_dev_stack(deployed_dev: Deployed) -> None:
    result = deployed_dev.stack.run("preview", "--stack", "dev", "--policy-pack", "policy")
    assert "modelstack-guardrails" in result.stdout
    assert "[mandatory]" not in result.stdout


def test_real_and_offline_policy_runs_report_the_same_violations(dev_stack: Stack) -> None:
    (dev_stack.project / "__main__.py").write_text(PROGRAM, encoding="utf-8")
    git(dev_stack.project, "commit", "--quiet", "--all", "-m", "test-only: violations")

    real = dev_stack.run("preview", "--stack", "dev", "--policy-pack", "policy", check=False)
    real_output = real.stdout + real.stderr
    assert real.returncode != 0, real_output
    reported = set(REAL_VIOLATION.findall(real_output))
    assert reported == EXPECTED, real_output

    # The same program's objects, as the provider writes them, through the offline policy runner.
    dev_stack.up()
    offline = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "modelstack"), "check", "--dir", str(dev_stack.project / RENDER_DIR)],
        cwd=dev_stack.project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert offline.returncode == 1, offline.stdout + offline.stderr
    assert set(OFFLINE_VIOLATION.findall(offline.stdout)) == reported
