"""Benchmark the render cache: render and preview of N models, cold and warm, beside the uncached runs.

    .venv/bin/python bench/cache.py --models 1000 --repeat 3 [--jobs 2] [--keep DIR]

Writes the benchmark's synthetic project of N models (bench/synthetic.py) and a base project whose model 0
has another canary weight, renders the base without the cache (`--base-dir` of every preview), and times,
each in a fresh process (wall, and CPU of the process and its workers), medians of
`--repeat` runs:

    render --no-cache         today's render: the program for every model, in one process
    render cold               an empty cache: every model missed, rendered by --jobs processes, stored
    render warm               the same inputs again: the whole render from one entry
    render warm, 1 model      the cache holds every model of the base; the head changes one model
    preview --no-cache        the one-model change against the base, as before the cache
    preview cold              the same, with an empty cache
    preview warm, 1 model     the cache holds every model but the changed one (each run changes model 0's
                              weight to a value not seen before, so each is a real one-model miss)
    preview warm, no change   the same head again
    preview warm, 1 model, --base REF
                              what the pull-request workflow runs: a git repository of the project whose
                              HEAD is the head's catalog, the working tree changing model 0's weight as
                              above, previewed against `--base HEAD` (the base rendered with its own code
                              in a temporary worktree, in a process of its own, read back as a bundle)
    floor: imports            the interpreter and the modules a one-model preview imports, nothing run
    floor: parse catalog      libyaml's parser over the head's models.yaml, events only

Cold runs get a fresh cache directory each; warm ones share one primed before they are timed (both renders,
and one preview of each kind, so that the base directory's index is warm too). The cached and uncached
renders are compared byte for byte, and the cached and uncached previews' JSON plans too, `--base HEAD`
included (the run stops if they differ).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import base_catalog, machine
from bench.synthetic import STACK, model_name, synthetic_catalog, synthetic_stack_config, write_project

Sample = tuple[float, float]

IMPORTS_FLOOR = (
    "import modelstack.cli, modelstack.engine.preview, modelstack.engine.incremental, "
    "modelstack.engine.render, components.program, components.validation.loader, pulumi.runtime.mocks"
)
"""What a warm one-model preview cannot do without: the interpreter and the modules it imports to validate
the catalog and run the program for the changed model under the Pulumi SDK's mock runtime."""
PARSE_FLOOR = (
    "import yaml\n"
    "for _ in yaml.parse(open('models.yaml', encoding='utf-8').read(), Loader=yaml.CSafeLoader): pass"
)
"""libyaml's parser over the whole catalog, events only (no data built): what re-reading the catalog costs
at least."""


def measure(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[Sample, str]:
    """Wall and CPU time (the process and the workers it waited for); and its stdout."""
    before = os.times()
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = os.times()
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return (wall, cpu), result.stdout


def modelstack(*args: str) -> list[str]:
    return [sys.executable, "-m", "modelstack", *args, "--stack", STACK]


def with_canary(n: int, canary: int) -> dict[str, Any]:
    catalog = synthetic_catalog(n)
    versions = catalog["models"][model_name(0)]["versions"]
    versions["v1"]["weight"], versions["v2"]["weight"] = 100 - canary, canary
    return catalog


def same_tree(a: Path, b: Path) -> bool:
    compared = filecmp.dircmp(a, b)
    if compared.left_only or compared.right_only or compared.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, compared.common_files, shallow=False)
    return not mismatch and not errors and all(same_tree(a / d, b / d) for d in compared.common_dirs)


def _git_project(directory: Path, n: int) -> Path:
    """A git repository of the benchmark's project whose one commit is the head's catalog."""
    write_project(directory, synthetic_catalog(n), synthetic_stack_config(n))
    identity = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@modelstack.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@modelstack.invalid",
    }
    for command in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "main"]):
        subprocess.run(["git", "-C", str(directory), *command], check=True, env=identity)
    return directory


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="MODELSTACK_JOBS for cold runs")
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument(
        "--json", type=Path, default=None, help="Also write the figures here (bench/summary.py)."
    )
    return parser.parse_args()


def _write_medians(path: Path, samples: dict[str, list[Sample]], n: int, jobs: int) -> None:
    medians = {
        name: [statistics.median(v[0] for v in values), statistics.median(v[1] for v in values)]
        for name, values in samples.items()
    }
    path.write_text(
        json.dumps({"machine": machine(), "models": n, "jobs": jobs, "figures": medians}, indent=1)
    )


def _check_plans(plans: dict[str, str], uncached_git: list[str], repo: Path, env: dict[str, str]) -> None:
    """Stop the run unless every cached preview planned what its uncached reference plans."""
    if plans["preview cold"] != plans["preview --no-cache"]:
        raise SystemExit("the cached preview's plan differs from the uncached one")
    # The last `--base HEAD` preview against the reference: the base rendered into a directory, the head
    # without the cache, every file parsed.
    _, uncached = measure(uncached_git, repo, env)
    if plans["preview warm, 1 model, --base REF"] != uncached:
        raise SystemExit("the preview against --base HEAD differs from the uncached one")


def main() -> None:
    args = _arguments()
    n = args.models
    print(f"machine: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="modelstack-cache-bench-") as tmp:
        work = args.keep or Path(tmp)
        base = write_project(work / "base", base_catalog(n), synthetic_stack_config(n))
        head = write_project(work / "head", synthetic_catalog(n), synthetic_stack_config(n))
        env = {**os.environ, "MODELSTACK_JOBS": str(args.jobs)}
        base_render = work / "base-render"
        measure([*modelstack("render", "--no-cache"), "--out", str(base_render)], base, env)
        warm = work / "cache-warm"
        warm_env = {**env, "MODELSTACK_CACHE_DIR": str(warm)}
        # The warm cache holds every model of the base (what CI keeps from rendering main).
        measure([*modelstack("render"), "--out", str(work / "prime")], base, warm_env)
        counter = iter(range(11, 90))

        def cold_env() -> dict[str, str]:
            directory = work / f"cache-cold-{time.monotonic_ns()}"
            return {**env, "MODELSTACK_CACHE_DIR": str(directory)}

        def one_model_change() -> None:
            write_project(head, with_canary(n, next(counter)), synthetic_stack_config(n))

        def reset_head() -> None:
            write_project(head, synthetic_catalog(n), synthetic_stack_config(n))

        out = str(work / "out")
        preview = [*modelstack("preview"), "--base-dir", str(base_render), "--json"]
        repo = _git_project(work / "repo", n)

        def repo_change() -> None:
            write_project(repo, with_canary(n, next(counter)), synthetic_stack_config(n))

        git_preview = [*modelstack("preview"), "--base", "HEAD", "--json"]
        runs: list[tuple[str, Callable[[], None], list[str], Callable[[], dict[str, str]]]] = [
            (
                "render --no-cache",
                reset_head,
                [*modelstack("render", "--no-cache"), "--out", out],
                lambda: env,
            ),
            ("render cold", reset_head, [*modelstack("render"), "--out", out], cold_env),
            ("render warm", reset_head, [*modelstack("render"), "--out", out], lambda: warm_env),
            (
                "render warm, 1 model",
                one_model_change,
                [*modelstack("render"), "--out", out],
                lambda: warm_env,
            ),
            ("preview --no-cache", reset_head, [*preview, "--no-cache"], lambda: env),
            ("preview cold", reset_head, preview, cold_env),
            ("preview warm, 1 model", one_model_change, preview, lambda: warm_env),
            ("preview warm, no change", lambda: None, preview, lambda: warm_env),
            ("preview warm, 1 model, --base REF", repo_change, git_preview, lambda: warm_env),
            ("floor: imports", lambda: None, [sys.executable, "-c", IMPORTS_FLOOR], lambda: env),
            ("floor: parse catalog", lambda: None, [sys.executable, "-c", PARSE_FLOOR], lambda: env),
        ]
        # Prime the warm cache with the head too, so "render warm" is the whole-render entry, and with one
        # preview of each kind (the base directory's index; the base revision's whole render).
        measure([*modelstack("render"), "--out", out], head, warm_env)
        measure(preview, head, warm_env)
        measure(git_preview, repo, warm_env)
        samples: dict[str, list[Sample]] = {}
        plans: dict[str, str] = {}
        for attempt in range(args.repeat):
            for name, prepare, command, environment in runs:
                prepare()
                sample, stdout = measure(command, repo if "--base REF" in name else head, environment())
                samples.setdefault(name, []).append(sample)
                if name.startswith("preview") and "1 model" not in name and "no change" not in name:
                    plans[name] = stdout
                print(
                    f"  #{attempt + 1} {name:24s} wall {sample[0]:7.2f} s  cpu {sample[1]:7.2f} s",
                    flush=True,
                )
                if name == "render --no-cache":
                    shutil.rmtree(work / "plain", ignore_errors=True)
                    shutil.copytree(out, work / "plain")
                elif (
                    name.startswith("render")
                    and "1 model" not in name
                    and not same_tree(work / "plain", Path(out))
                ):
                    raise SystemExit(f"{name}: the render differs from the uncached one")
                if name.endswith("--base REF"):
                    plans[name] = stdout
        _check_plans(plans, [*git_preview, "--no-cache"], repo, env)
        for path in work.glob("cache-cold-*"):
            shutil.rmtree(path, ignore_errors=True)
    report(samples, f"N = {n}, medians of {args.repeat}, jobs = {args.jobs}")
    if args.json:
        _write_medians(args.json, samples, n, args.jobs)


def report(samples: dict[str, list[Sample]], what: str) -> None:
    print(f"\nmachine at the end: {machine()}")
    print(f"{what}; cached renders and plans equal uncached\n")
    print("| run | wall s | CPU s |")
    print("|---|---|---|")
    for name, values in samples.items():
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        print(f"| {name} | {wall:.2f} | {cpu:.2f} |")


if __name__ == "__main__":
    main()
