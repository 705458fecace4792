"""Moving traffic never touches a workload: no object of a version depends on any version's weight."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Project, version_of, workload_objects


@pytest.mark.parametrize(("v1", "v2"), [(50, 50), (0, 100), (100, 0)])
def test_changing_weights_leaves_every_workload_object_byte_identical(
    project: Project, v1: int, v2: int
) -> None:
    before = workload_objects(project.render("prod"))

    def shift(catalog: dict[str, Any]) -> None:
        version_of(catalog, "llm-chat", "v1")["weight"] = v1
        version_of(catalog, "llm-chat", "v2")["weight"] = v2

    project.edit(shift)
    after = workload_objects(project.render("prod"))
    assert len(before) >= 15  # 4 versions × (Deployment, Service, PDB), 3 ConfigMaps, 3 ServiceAccounts
    assert after == before
