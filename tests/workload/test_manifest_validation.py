"""The workload objects of both stacks pass the shared validator (strict OpenAPI + API-server rules)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelstack.engine.render import Render

from .conftest import workload_objects


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_workload_objects_pass_the_shared_validator(
    stack: str, render_of: Any, manifest_validator: Any, tmp_path: Path
) -> None:
    full: Render = render_of(stack)
    ours = set(workload_objects(full))
    subset = Render([m for m in full.manifests if m.key in ours], {}, [])
    result = manifest_validator(subset, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(ours)} passed, 0 failed" in result.stdout
