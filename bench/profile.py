"""Profile one render of a synthetic catalog of N models with pyinstrument and print the hot spots.

    .venv/bin/python bench/profile.py --models 300 [--top 25] [--html profile.html]

The run covers what `modelstack render` does in-process: the program under the mock runtime (catalog
validation included) and the YAML files it writes. Pulumi's own work runs on its event loop, so the
flat list of functions by self time shows where the time goes better than the call tree.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyinstrument import Profiler
from pyinstrument.frame import Frame

from bench.synthetic import STACK, synthetic_project
from modelstack.engine.render import run_program, write_render


def _frames(frame: Frame) -> Iterator[Frame]:
    """Every real frame; synthetic `[self]` frames are already counted in their parent's self time."""
    if not frame.is_synthetic:
        yield frame
    for child in frame.children:
        yield from _frames(child)


def hot_spots(root: Frame, top: int) -> list[tuple[float, str]]:
    """Functions by self time (summed over every call site), the largest first."""
    totals: dict[str, float] = {}
    for frame in _frames(root):
        where = f"{frame.function}  {frame.file_path_short}:{frame.line_no}"
        totals[where] = totals.get(where, 0.0) + frame.total_self_time
    return sorted(((t, w) for w, t in totals.items()), reverse=True)[:top]


def by_package(root: Frame) -> list[tuple[float, str]]:
    """Self time grouped by top-level package (pulumi, pydantic, yaml, components, ...)."""
    totals: dict[str, float] = {}
    for frame in _frames(root):
        path = frame.file_path_short or "?"
        package = path.split("/")[0] if "/" in path else path
        totals[package] = totals.get(package, 0.0) + frame.total_self_time
    return sorted(((t, p) for p, t in totals.items()), reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, default=300, help="Catalog size N (default 300).")
    parser.add_argument("--top", type=int, default=25, help="How many functions to list.")
    parser.add_argument("--html", type=Path, default=None, help="Also write pyinstrument's HTML report.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="modelstack-profile-") as tmp:
        project = synthetic_project(Path(tmp) / "project", args.models)
        profiler = Profiler(interval=0.001, async_mode="disabled")
        profiler.start()
        render = run_program(project, STACK)
        write_render(render, Path(tmp) / "rendered")
        session = profiler.stop()

    root = profiler.last_session.root_frame() if profiler.last_session else None
    if root is None:
        sys.exit("no samples were taken")
    print(f"render of {args.models} models: {session.duration:.2f} s, {len(render.manifests)} objects\n")
    print("self time by package:")
    for seconds, package in by_package(root)[:12]:
        print(f"  {seconds:8.3f} s  {package}")
    print(f"\ntop {args.top} functions by self time:")
    for seconds, where in hot_spots(root, args.top):
        print(f"  {seconds:8.3f} s  {where}")
    if args.html:
        args.html.write_text(profiler.output_html(), encoding="utf-8")
        print(f"\nHTML report: {args.html}")


if __name__ == "__main__":
    main()
