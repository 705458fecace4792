"""Validating a catalog loads no part of the Pulumi SDK: `modelstack validate` says "no Pulumi", and the
render cache validates and keys a run in one process while the SDK loads in another (`incremental`)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

SDK = ("pulumi", "pulumi_kubernetes", "pulumi_docker_build", "grpc")

PROBE = textwrap.dedent(
    """
    import atexit, json, sys

    def report():
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {sdk!r})
        print("SDK:" + json.dumps(loaded), file=sys.stderr)

    atexit.register(report)
    {body}
    """
)


def loaded_sdk(body: str) -> tuple[list[str], subprocess.CompletedProcess[str]]:
    code = PROBE.format(sdk=set(SDK), body=textwrap.dedent(body))
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("SDK:")]
    assert lines, result.stderr
    return json.loads(lines[-1][4:]), result


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_modelstack_validate_loads_no_module_of_the_pulumi_sdk(stack: str) -> None:
    modules, result = loaded_sdk(
        f"""
        sys.argv = ["modelstack", "validate", "--stack", "{stack}"]
        from modelstack.cli import main
        main()
        """
    )

    assert "valid for stack" in result.stdout, result.stderr
    assert modules == []


def test_the_render_cache_validates_and_keys_a_run_without_the_pulumi_sdk() -> None:
    modules, result = loaded_sdk(
        """
        from pathlib import Path
        from modelstack.engine.incremental import _validated
        config, loaded, key = _validated(Path("."), "prod")
        print(len(loaded.catalog.models), len(key))
        """
    )

    assert result.returncode == 0, result.stderr
    assert modules == []
