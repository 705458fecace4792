"""A released version never changes: `modelstack preview --base-dir` refuses it with exit 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from modelstack.cli import cli
from modelstack.engine.lock import LOCK_FILE
from modelstack.engine.render import write_render
from modelstack.release.immutability import next_version_name

from .conftest import Project, version_of

OLD_DIGEST = "sha256:617463c1965054fa4390857246a0cfc920baa61a012021f247ea76efca038a4b"
NEW_DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def base(project: Project, tmp_path: Path) -> Path:
    """The catalog as released: rendered once before the edit under test."""
    out = tmp_path / "base"
    write_render(project.render("dev"), out)
    return out


def preview(project: Project, base: Path, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.chdir(project.root)
    return CliRunner().invoke(cli, ["preview", "--stack", "dev", "--base-dir", str(base)])


def new_digest_for_v1(catalog: dict[str, Any]) -> None:
    spec = version_of(catalog, "llm-chat", "v1")
    spec["image"] = spec["image"].replace(OLD_DIGEST, NEW_DIGEST)


def test_render_writes_the_lock_beside_the_outputs(base: Path) -> None:
    assert (base / LOCK_FILE).exists()
    assert (base / "outputs.json").exists()


def test_a_new_image_under_a_released_version_is_refused(
    project: Project, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.edit(new_digest_for_v1)
    result = preview(project, base, monkeypatch)
    assert result.exit_code == 2
    assert f"version v1 of llm-chat was released as {OLD_DIGEST}; a new image needs a new version name" in (
        result.stderr
    )
    assert "models.yaml:" in result.stderr and "models.llm-chat.versions.v1.image" in result.stderr
    assert "e.g. v3" in result.stderr  # v2 exists already


def test_a_render_without_a_lock_is_still_checked_by_its_images(
    project: Project, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (base / LOCK_FILE).unlink()
    project.edit(new_digest_for_v1)
    result = preview(project, base, monkeypatch)
    assert result.exit_code == 2
    assert OLD_DIGEST in result.stderr


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("config", lambda spec: spec["config"].update(max_num_seqs="128")),
        ("config", lambda spec: spec["env"].append({"name": "EXTRA", "value": "1"})),
        ("resources", lambda spec: spec["resources"].update(memory="80Gi")),
        ("args", lambda spec: spec["args"].append("--enforce-eager")),
        ("precision", lambda spec: spec.update(precision="fp32")),
        (
            "modelWeights",
            lambda spec: spec["modelWeights"]["volume"]["csi"].update(volumeHandle="llm-chat-8b-v1b"),
        ),
    ],
)
def test_other_release_changes_under_a_released_version_are_refused(
    project: Project, base: Path, monkeypatch: pytest.MonkeyPatch, field: str, change: Any
) -> None:
    project.edit(lambda catalog: change(version_of(catalog, "llm-chat", "v1")))
    result = preview(project, base, monkeypatch)
    assert result.exit_code == 2
    assert f"models.llm-chat.versions.v1.{field}: version v1 of llm-chat was released" in result.stderr


def test_moving_traffic_is_not_a_release_change(
    project: Project, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def shift(catalog: dict[str, Any]) -> None:
        version_of(catalog, "llm-chat", "v1")["weight"] = 50
        version_of(catalog, "llm-chat", "v2")["weight"] = 50

    project.edit(shift)
    result = preview(project, base, monkeypatch)
    assert result.exit_code == 0, result.stderr


def test_a_new_image_as_a_new_version_is_accepted(
    project: Project, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def release_v3(catalog: dict[str, Any]) -> None:
        versions = catalog["models"]["llm-chat"]["versions"]
        v3 = {k: v for k, v in versions["v2"].items() if k != "match"}
        versions["v3"] = {**v3, "image": versions["v2"]["image"].rsplit("@", 1)[0] + "@" + NEW_DIGEST}
        versions["v2"]["weight"], versions["v3"]["weight"] = 0, 10

    project.edit(release_v3)
    result = preview(project, base, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert "llm-chat-v3" in result.stdout


@given(st.from_regex(r"v[0-9]{1,3}", fullmatch=True), st.sets(st.from_regex(r"v[0-9]{1,3}", fullmatch=True)))
def test_the_suggested_version_name_is_new_and_numbered_after_the_old_one(
    version: str, taken: set[str]
) -> None:
    suggested = next_version_name(version, taken | {version})
    assert suggested not in taken | {version}
    assert int(suggested[1:]) > int(version[1:])
