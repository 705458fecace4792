"""The cdk8s peer synthesizes the render's very objects, so `make bench` compares like with like; and
the summary calls a goal met only when the measured figure is within it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench import cdk8s
from bench.floors import prepare
from bench.summary import goals
from bench.synthetic import synthetic_project

N = 4


def _key(body: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = body.get("metadata") or {}
    return (body["apiVersion"], body["kind"], meta.get("namespace", ""), meta["name"])


@pytest.mark.parametrize("shape", cdk8s.SHAPES)
def test_cdk8s_synthesizes_exactly_the_objects_of_the_render(tmp_path: Path, shape: str) -> None:
    try:
        command, env = cdk8s.synth_command(tmp_path / "manifests.json", tmp_path / "out", shape)
    except cdk8s.PeerUnavailableError as exc:
        pytest.skip(f"the cdk8s peer cannot be installed here: {exc}")
    project = synthetic_project(tmp_path / "project", N)
    prepare(project, tmp_path / "manifests.json")
    ours = {_key(b): b for b in json.loads((tmp_path / "manifests.json").read_text())}

    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)

    theirs = {}
    for path in (tmp_path / "out").glob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text()):
            theirs[_key(document)] = document
    assert len(list((tmp_path / "out").glob("*.yaml"))) == len(ours)
    assert theirs == ours


def _figures(
    preview_wall: float, cold_wall: float, peer_wall: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    run = {"sizes": {"1000": {"figures": {"cdk8s": [peer_wall, 9.0, 150], "render": [70.0, 70.0, 1000]}}}}
    cache = {
        "models": 1000,
        "figures": {
            "preview warm, 1 model": [preview_wall, preview_wall],
            "preview warm, no change": [0.5, 0.5],
            "render cold": [cold_wall, 2 * cold_wall],
        },
    }
    return run, cache


def test_a_goal_within_its_figure_is_met_and_one_beyond_it_is_not() -> None:
    table = "\n".join(goals(*_figures(preview_wall=5.6, cold_wall=6.0, peer_wall=7.3)))

    assert "one-model preview, warm, `--base-dir` < 1 s wall at N = 1000 | 5.60 s wall | **not met**" in table
    assert "no-change preview, warm < 1 s wall at N = 1000 | 0.50 s wall | **met**" in table
    assert (
        "full render, cold cache ≤ cdk8s (7.30 s wall) at N = 1000 | 6.00 s wall (0.8× the peer) | **met**"
        in table
    )
    assert (
        "full render, uncached ≤ cdk8s (7.30 s wall) at N = 1000 | 70.00 s wall (9.6× the peer) | **not met**"
        in table
    )
