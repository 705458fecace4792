"""The scale table of one `make bench` run: the issue's figures re-measured beside the peers and goals.

    .venv/bin/python bench/summary.py --run RUN.json --cache CACHE.json [--engine ENGINE.json]

Reads what `bench/run.py --json`, `bench/cache.py --json` and `bench/engine.py --json` wrote in the same
`make bench` run and prints one table at the cache benchmark's N (the serialization floor, the cdk8s
peer, the flat SDK floor, the uncached render and preview, the cached ones), the real engine beside the
offline engine at each N it ran, and each goal met or not with its number. It measures nothing itself.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

PREVIEW_GOAL_S = 1.0
"""A warm one-model preview, and a no-change one, of a 1,000-model catalog: under 1 s of wall time."""


def _cell(figure: list[float] | None) -> str:
    if figure is None:
        return "not run"
    wall, cpu, *rest = figure
    rss = f" / {rest[0]:.0f}" if rest else ""
    return f"{wall:.2f} / {cpu:.2f}{rss}"


def offline_table(run: dict[str, Any], cache: dict[str, Any]) -> list[str]:
    n = str(cache["models"])
    size = run["sizes"].get(n, {})
    floors = size.get("figures", {})
    cached = cache["figures"]
    rows: list[tuple[str, list[float] | None]] = [
        ("YAML serialization floor (the render's writer)", floors.get("serialize")),
        ("cdk8s synth of the same objects, one Chart (peer)", floors.get("cdk8s")),
        ("cdk8s synth of the same objects, a Chart per model", floors.get("cdk8s charts")),
        (
            "flat Pulumi SDK floor (mock runtime, direct registration, the render's objects)",
            floors.get("flat"),
        ),
        ("`modelstack render --no-cache`", floors.get("render")),
        ("`modelstack preview --no-cache`, one-model change", floors.get("preview")),
        (f"`modelstack render`, cold cache ({cache['jobs']} processes)", cached.get("render cold")),
        ("`modelstack render`, warm, unchanged inputs", cached.get("render warm")),
        ("`modelstack render`, warm, one model changed", cached.get("render warm, 1 model")),
        ("`modelstack preview`, cold cache, one-model change", cached.get("preview cold")),
        ("**`modelstack preview`, warm, one-model change**", cached.get("preview warm, 1 model")),
        ("**`modelstack preview`, warm, no change**", cached.get("preview warm, no change")),
        (
            "**`modelstack preview --base HEAD`, warm, one-model change** (the PR workflow)",
            cached.get("preview warm, 1 model, --base REF"),
        ),
        ("floor: interpreter and imports a one-model preview needs", cached.get("floor: imports")),
        ("floor: libyaml parsing the catalog (events only)", cached.get("floor: parse catalog")),
    ]
    objects = size.get("objects", "?")
    lines = [
        f"N = {n} models ({objects} objects); cells are wall s / CPU s [/ peak RSS MB]",
        "",
        "| | wall s / CPU s [/ RSS MB] |",
        "|---|---|",
    ]
    lines += [f"| {name} | {_cell(figure)} |" for name, figure in rows]
    return lines


def engine_table(run: dict[str, Any], engine: dict[str, Any]) -> list[str]:
    labels = ["pulumi preview", "pulumi up", "pulumi preview 1", "pulumi up 1"]
    lines = [
        "Real engine (pulumi v3.274.1, PULUMI_SKIP_CHECKPOINTS) beside the offline engine, uncached; "
        "wall s / CPU s of the process tree:",
        "",
        "| N | engine steps | `modelstack render --no-cache` | `modelstack preview --no-cache` (1 model) | "
        + " | ".join(f"`{label}`" for label in labels)
        + " |",
        "|---|---|---|---|" + "---|" * len(labels),
    ]
    for n, runs in engine["sizes"].items():
        offline = run["sizes"].get(n, {}).get("figures", {})
        steps = runs.get("pulumi preview", [0, 0, 0])[2]
        cells = [_cell(runs[label][:2]) if label in runs else "not run" for label in labels]
        lines.append(
            f"| {n} | {steps} | {_cell(offline.get('render'))} | {_cell(offline.get('preview'))} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def goals(run: dict[str, Any], cache: dict[str, Any]) -> list[str]:
    n = str(cache["models"])
    cached = cache["figures"]
    floors = run["sizes"].get(n, {}).get("figures", {})
    lines = ["| goal | measured | met |", "|---|---|---|"]
    for label, key in (
        ("one-model preview, warm, `--base-dir`", "preview warm, 1 model"),
        ("one-model preview, warm, `--base REF` (the PR workflow)", "preview warm, 1 model, --base REF"),
        ("no-change preview, warm", "preview warm, no change"),
    ):
        figure = cached.get(key)
        if figure is None:
            continue
        met = "**met**" if figure[0] < PREVIEW_GOAL_S else "**not met**"
        lines.append(f"| {label} < {PREVIEW_GOAL_S:.0f} s wall at N = {n} | {figure[0]:.2f} s wall | {met} |")
    peer = floors.get("cdk8s")
    for label, figure in (
        ("full render, cold cache", cached.get("render cold")),
        ("full render, uncached", floors.get("render")),
        ("full render, warm (unchanged inputs)", cached.get("render warm")),
    ):
        if figure is None or peer is None:
            continue
        met = "**met**" if figure[0] <= peer[0] else "**not met**"
        lines.append(
            f"| {label} ≤ cdk8s ({peer[0]:.2f} s wall) at N = {n} | {figure[0]:.2f} s wall "
            f"({figure[0] / peer[0]:.1f}× the peer) | {met} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--engine", type=Path, default=None)
    args = parser.parse_args()
    run = json.loads(args.run.read_text())
    cache = json.loads(args.cache.read_text())
    out = ["", "## Scale summary (this run)", "", f"machine: {run['machine']}", ""]
    out += offline_table(run, cache)
    if args.engine is not None and args.engine.is_file():
        out += ["", *engine_table(run, json.loads(args.engine.read_text()))]
    out += ["", *goals(run, cache)]
    print("\n".join(out))


if __name__ == "__main__":
    main()
