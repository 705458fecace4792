"""Benchmark validate, render and preview on synthetic catalogs of N models, against three floors.

    .venv/bin/python bench/run.py --sizes 10,100,1000 --repeat 3

For every N it writes a project (Pulumi.yaml, Pulumi.bench.yaml, models.yaml; see bench/synthetic.py)
and a base project whose catalog differs in one model's canary weight, renders the base once, then
runs, each in a fresh process and `--repeat` times (interleaved, so a burst of load hits all alike):

    validate   modelstack validate
    render     modelstack render
    preview    modelstack preview --base-dir <render of the base>
    flat       the same objects as plain pulumi-kubernetes resources, no components (bench/floors.py)
    structured the render's resource tree replayed: the objects under the same, empty, components
    serialize  the same objects written with the fastest YAML writer available (bench/floors.py)
    cdk8s      the peer: cdk8s synthesizing the same objects under one Chart (bench/cdk8s.py)
    cdk8s charts  the same under one Chart per model, our components' shape

`validate`, `render` and `preview` run with `--no-cache`: the whole program every time, as before the
render cache (bench/cache.py measures the cached runs; without the flag every run after the first would
be a cache hit).

and prints, as medians, wall time, CPU time (user + system) and peak RSS of each process (from
`os.wait4`, so per process), the render/floor ratios and the time per model. A 1-model render is
measured too: what every run pays whatever N (interpreter, imports, the stack's fixed objects), so
the marginal time per model shows whether the cost is linear in N; the slope (CPU per model added since
the previous N) shows it with less noise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cdk8s
from bench.synthetic import (
    CANARY_WEIGHT,
    STABLE_WEIGHT,
    STACK,
    model_name,
    synthetic_catalog,
    synthetic_project,
    synthetic_stack_config,
    write_project,
)

FLOORS = str(Path(__file__).resolve().parent / "floors.py")
BASE_CANARY_WEIGHT = 20
"""The base's canary weight of model 0: the preview of the head against it is a one-model change."""


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    rss_mb: float


@dataclass(frozen=True)
class Figure:
    """Medians of the samples of one measurement."""

    wall: float
    cpu: float
    rss_mb: float

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> Figure:
        return cls(
            statistics.median(s.wall for s in samples),
            statistics.median(s.cpu for s in samples),
            statistics.median(s.rss_mb for s in samples),
        )


def measure(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Sample:
    """Run `command` to completion; its wall time, CPU time and peak RSS (of that process alone)."""
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            output.seek(0)
            tail = output.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{tail}")
    # ru_maxrss is in KiB on Linux.
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def modelstack(*args: str) -> list[str]:
    return [sys.executable, "-m", "modelstack", *args, "--stack", STACK]


@dataclass(frozen=True)
class Workload:
    """The files of one catalog size and the commands that are timed on them."""

    n: int
    project: Path
    base_render: Path
    manifests: Path
    objects: int
    resources: int
    preview_steps: int

    def commands(self, scratch: Path) -> dict[str, tuple[list[str], Path, dict[str, str] | None]]:
        py = sys.executable
        commands: dict[str, tuple[list[str], Path, dict[str, str] | None]] = {
            "validate": (modelstack("validate"), self.project, None),
            "render": (
                [*modelstack("render", "--no-cache"), "--out", str(scratch / "render")],
                self.project,
                None,
            ),
            "preview": (
                [*modelstack("preview", "--no-cache"), "--base-dir", str(self.base_render), "--json"],
                self.project,
                None,
            ),
            "flat": ([py, FLOORS, "flat", str(self.manifests)], self.project, None),
            "structured": ([py, FLOORS, "structured", str(self.manifests)], self.project, None),
            "serialize": (
                [py, FLOORS, "serialize", str(self.manifests), str(scratch / "ser")],
                self.project,
                None,
            ),
        }
        try:
            for shape, name in zip(cdk8s.SHAPES, ("cdk8s", "cdk8s charts"), strict=True):
                command, env = cdk8s.synth_command(self.manifests, scratch / name.replace(" ", "-"), shape)
                commands[name] = (command, self.project, env)
        except cdk8s.PeerUnavailableError as exc:
            print(f"  cdk8s peer not measured: {exc}", flush=True)
        return commands


def base_catalog(n: int) -> dict[str, Any]:
    """The head's catalog with model 0's canary at BASE_CANARY_WEIGHT %: the preview's base."""
    catalog = synthetic_catalog(n)
    versions = catalog["models"][model_name(0)]["versions"]
    versions["v1"]["weight"] = STABLE_WEIGHT + CANARY_WEIGHT - BASE_CANARY_WEIGHT
    versions["v2"]["weight"] = BASE_CANARY_WEIGHT
    return catalog


def prepare(n: int, directory: Path) -> Workload:
    """Write the head and base projects, render the base, keep the head's objects for the floors."""
    project = synthetic_project(directory / "head", n)
    base = write_project(directory / "base", base_catalog(n), synthetic_stack_config(n))
    base_render = directory / "base-render"
    measure([*modelstack("render", "--no-cache"), "--out", str(base_render)], base)
    manifests = directory / "manifests.json"
    described = subprocess.run(
        [sys.executable, FLOORS, "prepare", str(project), str(manifests)],
        check=True,
        capture_output=True,
        text=True,
    )
    counts = json.loads(described.stdout.strip().splitlines()[-1])
    plan = subprocess.run(
        [*modelstack("preview", "--no-cache"), "--base-dir", str(base_render), "--json"],
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
    )
    steps = len(json.loads(plan.stdout).get("steps", []))
    return Workload(n, project, base_render, manifests, counts["objects"], counts["resources"], steps)


def run_size(n: int, repeat: int, directory: Path, log: Any) -> tuple[Workload, dict[str, Figure]]:
    workload = prepare(n, directory)
    samples: dict[str, list[Sample]] = {}
    for attempt in range(repeat):
        for name, (command, cwd, env) in workload.commands(directory / "scratch").items():
            sample = measure(command, cwd, env)
            samples.setdefault(name, []).append(sample)
            print(
                f"  N={n} #{attempt + 1} {name:9s} wall {sample.wall:7.2f} s  cpu {sample.cpu:7.2f} s  "
                f"rss {sample.rss_mb:6.0f} MB",
                file=log,
                flush=True,
            )
    return workload, {name: Figure.of(s) for name, s in samples.items()}


SMALL_N = 10
"""Sizes up to this one (and the 1-model render) take about a second a run: they are measured at least
SMALL_REPEAT times, or their marginal cost per model is mostly noise."""
SMALL_REPEAT = 9


def repeats_for(n: int, repeat: int) -> int:
    return max(repeat, SMALL_REPEAT) if n <= SMALL_N else repeat


def fixed_cost(repeat: int, directory: Path) -> Figure:
    """What a render pays whatever N: a 1-model catalog."""
    project = synthetic_project(directory / "one", 1)
    command = [*modelstack("render", "--no-cache"), "--out", str(directory / "one-render")]
    return Figure.of([measure(command, project) for _ in range(repeat)])


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()} "
        f"{platform.release()}; load average {load}"
    )


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "–"


def _timing(figure: Figure) -> str:
    return f"{figure.wall:.2f} / {figure.cpu:.2f} / {figure.rss_mb:.0f}"


def table(results: list[tuple[Workload, dict[str, Figure]]], fixed: Figure) -> str:
    header = (
        "| N | objects | resources | res./model | validate | render | preview | cdk8s peer | cdk8s, chart per model | flat floor | "
        "structured floor | serialize floor | render/cdk8s (wall) | render/flat (CPU) | "
        "render/structured (CPU) | render/serialize (CPU) | preview/render (wall) | render ms/model | "
        "marginal ms/model | slope ms/model |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    previous: tuple[int, float] | None = None
    for workload, fig in results:
        render, n, peer = fig["render"], workload.n, fig.get("cdk8s")
        marginal = (render.cpu - fixed.cpu) / (n - 1) * 1000 if n > 1 else float("nan")
        # CPU per added model since the previous size: two large times, so far less noisy than `marginal`
        # at small N (the difference of two ~1 s times).
        slope = (
            "–" if previous is None else f"{(render.cpu - previous[1]) / (n - previous[0]) * 1000:.1f} CPU"
        )
        previous = (n, render.cpu)
        lines.append(
            f"| {n} | {workload.objects} | {workload.resources} | {workload.resources / n:.1f} | "
            f"{_timing(fig['validate'])} | {_timing(render)} | {_timing(fig['preview'])} | "
            f"{_timing(peer) if peer else 'not run'} | "
            f"{_timing(fig['cdk8s charts']) if 'cdk8s charts' in fig else 'not run'} | "
            f"{_timing(fig['flat'])} | {_timing(fig['structured'])} | {_timing(fig['serialize'])} | "
            f"{_ratio(render.wall, peer.wall) if peer else '–'} | "
            f"{_ratio(render.cpu, fig['flat'].cpu)} | {_ratio(render.cpu, fig['structured'].cpu)} | "
            f"{_ratio(render.cpu, fig['serialize'].cpu)} | "
            f"{_ratio(fig['preview'].wall, render.wall)} | "
            f"{render.wall / n * 1000:.1f} wall, {render.cpu / n * 1000:.1f} CPU | {marginal:.1f} CPU | "
            f"{slope} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,100,1000", help="Catalog sizes N, comma-separated.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs of each measurement (median).")
    parser.add_argument("--keep", type=Path, default=None, help="Keep the projects and renders here.")
    parser.add_argument(
        "--json", type=Path, default=None, help="Also write the figures here (bench/summary.py)."
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="modelstack-bench-") as tmp:
        directory = args.keep or Path(tmp)
        fixed = fixed_cost(repeats_for(1, args.repeat), directory)
        print(f"  1-model render (fixed cost): wall {fixed.wall:.2f} s, cpu {fixed.cpu:.2f} s", flush=True)
        results = [run_size(n, repeats_for(n, args.repeat), directory / f"n{n}", sys.stdout) for n in sizes]

    print(f"\nmachine at the end: {machine()}")
    print(
        f"medians of {args.repeat} run(s) ({max(args.repeat, SMALL_REPEAT)} for N <= {SMALL_N} and the "
        "1-model render), each in a fresh process; cells are wall s / CPU s / peak RSS MB"
    )
    print(f"fixed cost (1-model render): {_timing(fixed)}\n")
    print(table(results, fixed))
    for workload, _ in results:
        print(f"N={workload.n}: preview of one canary weight change planned {workload.preview_steps} step(s)")
    if args.json:
        figures = {
            str(workload.n): {
                "objects": workload.objects,
                "resources": workload.resources,
                "figures": {name: [f.wall, f.cpu, f.rss_mb] for name, f in fig.items()},
            }
            for workload, fig in results
        }
        args.json.write_text(json.dumps({"machine": machine(), "sizes": figures}, indent=1))


if __name__ == "__main__":
    main()
