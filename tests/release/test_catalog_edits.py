"""Edits of models.yaml keep every comment and every character they do not need to change."""

from __future__ import annotations

import pytest

from modelstack.release.edits import (
    InvalidEditError,
    ReleaseError,
    plan_retire,
    plan_rollback,
    plan_weight,
    set_weight,
)

from .conftest import ROOT, changed_lines

CATALOG = (ROOT / "models.yaml").read_text()


def _comments(text: str) -> list[str]:
    return [line.split("#", 1)[1] for line in text.splitlines() if "#" in line and "sha256" not in line]


def test_promote_changes_only_the_weight_lines():
    edit = plan_weight(CATALOG, "llm-chat", "v2", 50)
    assert changed_lines(CATALOG, edit.text) == [
        ("        weight: 90", "        weight: 50"),
        ("        weight: 10", "        weight: 50"),
    ]


def test_rollback_gives_the_previous_version_everything():
    edit = plan_rollback(CATALOG, "llm-chat")
    assert edit.after == {"v1": 100, "v2": 0}
    assert changed_lines(CATALOG, edit.text) == [
        ("        weight: 90", "        weight: 100"),
        ("        weight: 10", "        weight: 0"),
    ]


def test_rollback_to_a_named_version():
    assert plan_rollback(CATALOG, "llm-chat", to="v2").after == {"v1": 0, "v2": 100}


def test_retire_removes_only_the_versions_block():
    dark = plan_rollback(CATALOG, "llm-chat").text
    edit = plan_retire(dark, "llm-chat", "v2")
    assert "llm-chat-8b-v2" not in edit.text
    assert "QA pins itself to the canary" not in edit.text  # a comment inside the block goes with it
    # Exactly the lines from `v2:` to the block's last line go; the blank line and the comment introducing
    # the next model stay, as does every other character.
    lines = dark.splitlines(keepends=True)
    first = lines.index("      v2:\n")
    last = next(i for i, line in enumerate(lines) if "QA pins itself" in line)
    assert edit.text == "".join(lines[:first] + lines[last + 1 :])
    assert _comments(edit.text) == [c for c in _comments(dark) if "QA pins" not in c]
    assert "  # An object detector on MIG slices of H100s" in edit.text


def test_retire_of_a_first_listed_version_keeps_the_rest_intact():
    promoted = plan_weight(CATALOG, "llm-chat", "v2", 100).text
    edit = plan_retire(promoted, "llm-chat", "v1")
    assert "llm-chat-8b-v1" not in edit.text
    assert "      v2:\n" in edit.text
    assert edit.after == {"v2": 100}


def test_retire_refuses_a_version_with_traffic():
    with pytest.raises(ReleaseError, match="still has weight 10"):
        plan_retire(CATALOG, "llm-chat", "v2")


def test_retire_refuses_the_last_version():
    with pytest.raises(ReleaseError, match="last version"):
        plan_retire(CATALOG, "vision-detector", "v7")


def test_retire_refuses_the_mirror_target():
    mirrored = CATALOG.replace(
        "      timeout: 120s ", "      mirror: {version: v2, percent: 5}\n      timeout: 120s "
    )
    dark = plan_rollback(mirrored, "llm-chat").text
    with pytest.raises(ReleaseError, match="mirror target"):
        plan_retire(dark, "llm-chat", "v2")


def test_unknown_model_is_refused_with_the_known_ones():
    with pytest.raises(ReleaseError, match="model 'llm' is not in the catalog"):
        plan_weight(CATALOG, "llm", "v1", 100)


def test_set_weight_writes_the_rebalanced_catalog(catalog_copy):
    assert set_weight(catalog_copy, "llm-chat", "v2", 25) == {"v1": 75, "v2": 25}
    assert changed_lines(CATALOG, catalog_copy.read_text()) == [
        ("        weight: 90", "        weight: 75"),
        ("        weight: 10", "        weight: 25"),
    ]


def test_set_weight_writes_nothing_when_the_result_is_invalid(catalog_copy):
    broken = CATALOG.replace("nodePool: gpu-h100-mig", "nodePool: gpu-h100-mog")
    catalog_copy.write_text(broken)
    with pytest.raises(InvalidEditError, match="gpu-h100-mog") as error:
        set_weight(catalog_copy, "llm-chat", "v2", 25)
    assert catalog_copy.read_text() == broken
    # Located in the catalog by its own name; the temporary candidate beside it is gone.
    assert all(p.file.endswith("models.yaml") for p in error.value.problems)
    assert sorted(p.name for p in catalog_copy.parent.iterdir() if p.name.startswith(".")) == []
