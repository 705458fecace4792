"""The real Pulumi engine on synthetic catalogs of N models, beside the offline engine on the same files.

    .venv/bin/python bench/engine.py --sizes 10,100,1000 [--keep DIR] [--timeout 3600]
        [--with-checkpoints-up-to 10] [--pprof]

For every N it writes a project (bench/synthetic.py: `Pulumi.bench.yaml`, a render stack, and
`models.yaml`) with the program (`__main__.py`, `components/`) copied in, on a `file://` backend of its
own with the toolchain the engine tests use (tests/engine/engine.py: the built CLI, Python language host
and Kubernetes provider, no network), and runs, in this order, each once:

    render            modelstack render                       (offline: the program under mocks + YAML)
    preview           modelstack preview --base-dir <base>    (offline: one model's canary weight changed)
    pulumi preview    pulumi preview   of the empty stack     (every object a create)
    pulumi up         pulumi up --skip-preview                (every object created: YAML via renderYamlToDirectory)
    pulumi preview 1  pulumi preview   after the same one-model change as the offline preview
    pulumi up 1       pulumi up --skip-preview of that change

Every pulumi command runs with `PULUMI_SKIP_CHECKPOINTS=true`, as the pull-request workflow runs its
preview (docs/performance.md, "Under the real engine": a preview discards its snapshot, yet by default
serializes and verifies the whole of it after every step; an `up` on a file backend rewrites the whole
state file after every step). Up to `--with-checkpoints-up-to` models (default 10) the first preview and
up run a second time with the engine's defaults (`… (checkpoints)`), on a fresh stack, to show that cost.

Where the time goes, for every pulumi command:

- CPU by process, from /proc sampled every 0.2 s over the command's process tree (a process's last sample
  before it exits, so each figure may miss up to 0.2 s): the CLI and engine (`pulumi`), the Python
  language host, the program (`python`, the SDK included), the Kubernetes provider.
- Phases by wall clock, from the engine's events (`--json` streams them on stdout; a preview with
  PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true), by when each arrived: start-up
  (CLI, plugins, stack and secrets until the prelude event), steps (prelude to the last resource event:
  program, engine and provider working concurrently), and finish (the last resource event to exit:
  summary and the final checkpoint).
- With `--pprof`: the CLI's own CPU profile (`pulumi --profiling`, Go's pprof), summarized as the share
  of the engine's CPU samples under the engine functions that matter here (saving snapshots, executing
  steps, serving the program's gRPC calls, logging, the garbage collector), and `go tool pprof -top`'s
  heaviest functions. The profiles stay under `--keep` for `go tool pprof`.

Prints one table (wall s / CPU s of the whole process tree) and the breakdowns; no assertions, no timing
thresholds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import base_catalog
from bench.synthetic import STACK, synthetic_catalog, synthetic_stack_config, write_project
from tests.engine.engine import Pulumi, build_toolchain

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_S = 0.2
TICKS = os.sysconf("SC_CLK_TCK")
CATEGORIES = ("engine", "language host", "program", "provider", "other")


def _category(comm: str) -> str:
    if comm.startswith("pulumi-resource"):
        return "provider"
    if comm.startswith("pulumi-language"):
        return "language host"
    if comm.startswith("pulumi"):
        return "engine"
    if comm.startswith("python"):
        return "program"
    return "other"


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stream:
                fields = stream.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def _tree(root: int) -> Iterator[int]:
    tree, todo = _children(), [root]
    while todo:
        pid = todo.pop()
        yield pid
        todo.extend(tree.get(pid, ()))


def _cpu(pid: int) -> tuple[str, float] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stream:
            text = stream.read()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text.rsplit(")", 1)[1].split()
    return comm, (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


@dataclass
class Run:
    wall: float
    cpu_by: dict[str, float]
    phases: dict[str, float] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    pprof: dict[str, float] = field(default_factory=dict)
    """Share (%) of the CLI's CPU samples under each of PPROF_PARTS (`--pprof`)."""

    @property
    def cpu(self) -> float:
        return sum(self.cpu_by.values())


def sampled(command: list[str], cwd: Path, env: dict[str, str], events: bool, timeout: float) -> Run:
    """Run `command`; wall time, CPU per process category, and (`events`: the command streams engine
    events as JSON lines on stdout) the phases, by when each event arrived."""
    last: dict[int, tuple[str, float]] = {}
    arrivals: dict[str, float] = {}
    counts: dict[str, int] = {}
    offset = 0
    with tempfile.NamedTemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        while True:
            done = process.poll() is not None
            for pid in _tree(process.pid):
                if (seen := _cpu(pid)) is not None:
                    last[pid] = seen
            if events:
                with open(output.name, "rb") as stream:
                    stream.seek(offset)
                    chunk = stream.read()
                complete = chunk[: chunk.rfind(b"\n") + 1]
                offset += len(complete)
                now = time.perf_counter() - start
                for line in complete.splitlines():
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue  # a diagnostic line, not an event
                    for kind in (k for k in event if isinstance(event, dict) and k.endswith("Event")):
                        counts[kind] = counts.get(kind, 0) + 1
                        arrivals.setdefault(f"first {kind}", now)
                        arrivals[f"last {kind}"] = now
            if done:
                break
            if time.perf_counter() - start > timeout:
                process.kill()
                raise TimeoutError(f"{' '.join(command[:3])} ran past {timeout:.0f} s")
            time.sleep(SAMPLE_S)
        wall = time.perf_counter() - start
        if process.returncode != 0:
            output.seek(0)
            tail = output.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{tail}")
    cpu_by = dict.fromkeys(CATEGORIES, 0.0)
    for comm, seconds in last.values():
        cpu_by[_category(comm)] += seconds
    phases: dict[str, float] = {}
    if "first preludeEvent" in arrivals:
        prelude = arrivals["first preludeEvent"]
        steps_end = max(
            (arrivals[k] for k in ("last resourcePreEvent", "last resOutputsEvent") if k in arrivals),
            default=prelude,
        )
        phases = {"start-up": prelude, "steps": steps_end - prelude, "finish": wall - steps_end}
    return Run(wall, cpu_by, phases, counts)


def project_with_program(directory: Path, n: int) -> Path:
    """A synthetic project the real CLI can run: the program copied in, the repository's .venv linked."""
    project = write_project(directory, synthetic_catalog(n), synthetic_stack_config(n))
    shutil.copy2(ROOT / "__main__.py", project / "__main__.py")
    shutil.copytree(ROOT / "components", project / "components", ignore=shutil.ignore_patterns("__pycache__"))
    (project / ".venv").symlink_to(ROOT / ".venv")
    return project


SKIP_CHECKPOINTS = {"PULUMI_SKIP_CHECKPOINTS": "true"}

# Engine functions whose cumulative share of the CLI's CPU samples says where its time goes (they nest:
# a step executes inside the gRPC call that registered it, so the shares may add up past 100 %).
PPROF_PARTS = {
    "saving snapshots": "backend.(*SnapshotManager).saveSnapshot",
    "executing steps": "deploy.(*stepExecutor).worker",
    "serving gRPC": "grpc.(*Server).handleStream",
    "logging": "logging.VerboseLogger.Infof",
    "garbage collector": "runtime.gcBgMarkWorker",
}


def pprof_summary(binary: Path, profile: Path) -> tuple[dict[str, float], list[str]] | None:
    """Each of PPROF_PARTS's cumulative share of `profile`'s samples, and the heaviest functions by their
    own time; None when `go` is not on PATH or the profile cannot be read."""
    go = shutil.which("go")
    if go is None or not profile.is_file():
        return None

    def top(*flags: str) -> list[str]:
        result = subprocess.run(
            [go, "tool", "pprof", "-top", *flags, str(binary), str(profile)],
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout.splitlines() if result.returncode == 0 else []

    shares: dict[str, float] = {}
    for line in top("-cum", "-nodecount=5000"):
        fields = line.split()
        if len(fields) < 6 or not fields[4].endswith("%"):
            continue
        name = " ".join(fields[5:])
        for part, function in PPROF_PARTS.items():
            if part not in shares and name.endswith(function):
                shares[part] = float(fields[4].rstrip("%"))
    heaviest = [line for line in top("-nodecount=8") if line.strip().endswith(")") or "." in line][-8:]
    return shares, heaviest


def bench_size(
    engine: Pulumi, n: int, work: Path, timeout: float, *, with_checkpoints: bool, pprof: bool
) -> dict[str, Run]:
    project = project_with_program(work / f"n{n}" / "project", n)
    base = write_project(work / f"n{n}" / "base", base_catalog(n), synthetic_stack_config(n))
    modelstack = [sys.executable, "-m", "modelstack"]
    # A render cache of this size's own: the render below is cold, the preview after it warm.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MODELSTACK_CACHE_DIR": str(work / f"n{n}" / "cache")}
    subprocess.run(
        [*modelstack, "render", "--stack", STACK, "--out", str(work / f"n{n}" / "base-render")],
        cwd=base,
        env=env,
        check=True,
        capture_output=True,
    )
    runs: dict[str, Run] = {}
    runs["render"] = sampled(
        [*modelstack, "render", "--stack", STACK, "--out", str(work / f"n{n}" / "render")],
        project,
        env,
        False,
        timeout,
    )
    runs["preview"] = sampled(
        [
            *modelstack,
            "preview",
            "--stack",
            STACK,
            "--base-dir",
            str(work / f"n{n}" / "base-render"),
            "--json",
        ],
        project,
        env,
        False,
        timeout,
    )
    profiles = work / f"n{n}" / "pprof"
    profiles.mkdir(parents=True, exist_ok=True)

    def real(target: Pulumi, label: str, extra_env: dict[str, str], *args: str) -> None:
        pulumi = [str(target.toolchain.pulumi), "--non-interactive", "--color=never"]
        if pprof:
            pulumi.append(f"--profiling={profiles / label.replace(' ', '-')}")
        # `--json` streams the engine's events (a preview only with this variable; pulumi v3.274).
        streaming = {**target.env(), "PULUMI_ENABLE_STREAMING_JSON_PREVIEW": "true", **extra_env}
        runs[label] = run = sampled(
            [*pulumi, *args, "--stack", STACK, "--json"], project, streaming, True, timeout
        )
        # As it comes: a size may not finish within the time one has.
        print(
            f"N = {n} {label}: {run.wall:.1f} s wall, {run.cpu:.1f} s CPU {run.cpu_by}, phases {run.phases}",
            flush=True,
        )
        if pprof:
            found = sorted(profiles.glob(f"{label.replace(' ', '-')}.*.cpu"))
            summary = pprof_summary(target.toolchain.pulumi, found[-1]) if found else None
            if summary is not None:
                shares, heaviest = summary
                run.pprof = shares
                print(f"  engine CPU samples under: {shares}", flush=True)
                print("\n".join(f"    {line}" for line in heaviest), flush=True)

    if with_checkpoints:
        # The engine's defaults, on a stack of their own, before the measured stack exists.
        defaults = engine.with_backend(work / f"n{n}" / "state-checkpoints")
        defaults.run(project, "stack", "init", STACK)
        real(defaults, "pulumi preview (checkpoints)", {}, "preview")
        real(defaults, "pulumi up (checkpoints)", {}, "up", "--yes", "--skip-preview")
        for state in project.glob("build/*"):
            shutil.rmtree(
                state, ignore_errors=True
            )  # the render stack's files: the next up writes them again
    engine = engine.with_backend(work / f"n{n}" / "state")
    engine.run(project, "stack", "init", STACK)
    real(engine, "pulumi preview", SKIP_CHECKPOINTS, "preview")
    real(engine, "pulumi up", SKIP_CHECKPOINTS, "up", "--yes", "--skip-preview")
    # The offline preview's change, the other way round: the head's canary weight goes to the base's.
    (project / "models.yaml").write_text((base / "models.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    real(engine, "pulumi preview 1", SKIP_CHECKPOINTS, "preview")
    real(engine, "pulumi up 1", SKIP_CHECKPOINTS, "up", "--yes", "--skip-preview")
    return runs


def report(results: dict[int, dict[str, Run]]) -> str:
    labels = [
        "render",
        "preview",
        "pulumi preview (checkpoints)",
        "pulumi up (checkpoints)",
        "pulumi preview",
        "pulumi up",
        "pulumi preview 1",
        "pulumi up 1",
    ]
    lines = [
        "| N | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for n, runs in results.items():
        cells = [f"{runs[k].wall:.1f} / {runs[k].cpu:.1f}" if k in runs else "–" for k in labels]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "CPU s by process (engine / language host / program / provider) and wall phases "
        "(start-up / steps / finish, s) of the pulumi commands:",
        "",
    ]
    lines += [
        "| N | command | engine | language host | program | provider | start-up | steps | finish | events |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, runs in results.items():
        for label, run in runs.items():
            if not label.startswith("pulumi"):
                continue
            c, p = run.cpu_by, run.phases
            steps = run.events.get("resourcePreEvent", 0)
            lines.append(
                f"| {n} | {label} | {c['engine']:.1f} | {c['language host']:.1f} | {c['program']:.1f} | "
                f"{c['provider']:.1f} | {p.get('start-up', 0):.1f} | {p.get('steps', 0):.1f} | "
                f"{p.get('finish', 0):.1f} | {steps} |"
            )
    profiled = [(n, label, run) for n, runs in results.items() for label, run in runs.items() if run.pprof]
    if profiled:
        parts = list(PPROF_PARTS)
        lines += ["", "Share of the CLI's CPU samples (%) under (nested, so rows may exceed 100):", ""]
        lines += ["| N | command | " + " | ".join(parts) + " |", "|---|---|" + "---|" * len(parts)]
        for n, label, run in profiled:
            cells = [f"{run.pprof[part]:.1f}" if part in run.pprof else "0" for part in parts]
            lines.append(f"| {n} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument(
        "--keep", type=Path, default=None, help="Keep the projects, states and event logs here."
    )
    parser.add_argument("--timeout", type=float, default=3600, help="Seconds any one command may run.")
    parser.add_argument(
        "--with-checkpoints-up-to",
        type=int,
        default=10,
        help="Also run the first preview and up with the engine's default checkpoints up to this N.",
    )
    parser.add_argument("--pprof", action="store_true", help="Profile the CLI (pulumi --profiling).")
    parser.add_argument(
        "--json", type=Path, default=None, help="Also write the figures here (bench/summary.py)."
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    toolchain = build_toolchain()
    work = args.keep or Path(tempfile.mkdtemp(prefix="modelstack-bench-engine-"))
    work.mkdir(parents=True, exist_ok=True)
    engine = Pulumi(toolchain, home=work / "home", backend=work / "state")
    engine.install_provider()
    print(
        f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, "
        f"{toolchain.pulumi.parent.parent.name}, kubernetes provider {toolchain.kubernetes_version}",
        flush=True,
    )
    results: dict[int, dict[str, Run]] = {}
    for n in sizes:
        try:
            results[n] = bench_size(
                engine,
                n,
                work,
                args.timeout,
                with_checkpoints=n <= args.with_checkpoints_up_to,
                pprof=args.pprof,
            )
        except TimeoutError as exc:
            print(f"N = {n}: {exc}", flush=True)
            break
        print(f"N = {n} done (load {os.getloadavg()[0]:.1f})", flush=True)
        print(report({n: results[n]}), flush=True)
    print("\n" + report(results))
    if args.json:
        figures = {
            str(n): {
                label: [run.wall, run.cpu, run.events.get("resourcePreEvent", 0)]
                for label, run in runs.items()
            }
            for n, runs in results.items()
        }
        args.json.write_text(json.dumps({"load": os.getloadavg()[0], "sizes": figures}, indent=1))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
