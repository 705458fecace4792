"""The render cache never changes what a render writes or what a preview plans.

The property: after any sequence of catalog, stack and shard edits, a preview through the cache (which by
then holds entries of every earlier example) plans exactly what the uncached preview plans, with the same
warnings, findings and errors, and a render through the cache writes the same bytes — for the unsharded
stack, a base and each models shard of its family. The catalogs are the benchmark's synthetic ones
(bench/synthetic.py), small enough to render many times.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bench.synthetic import (
    STACK,
    dump,
    model_body,
    model_name,
    synthetic_catalog,
    synthetic_stack_config,
    write_project,
)
from components.catalog.errors import CatalogError
from modelstack.engine import incremental, render_keys
from modelstack.engine.incremental import render_stack_cached
from modelstack.engine.preview import Preview, preview
from modelstack.engine.render import render_stack, run_program, write_render
from modelstack.engine.render_cache import RenderCache
from modelstack.engine.render_index import directory_index
from modelstack.release.immutability import released_versions_guard

ROOT = Path(__file__).resolve().parents[2]
N = 5

Catalog = dict[str, Any]


def _weights(catalog: Catalog, index: int, canary: int) -> None:
    versions = catalog["models"][model_name(index)]["versions"]
    versions["v1"]["weight"], versions["v2"]["weight"] = 100 - canary, canary


BASE = f"{STACK}-base"
SHARDS = (f"{STACK}-llm", f"{STACK}-rest")
"""A sharded family beside the unsharded stack: a base and two models shards, the first owning the LLMs."""
STACKS = (STACK, BASE, *SHARDS)


@dataclass
class Family:
    """What an example writes: the catalog, the unsharded stack's file (the base inherits it) and the
    shard edits: models moved to the other shard, models both select, models handed over."""

    catalog: Catalog
    stack: Catalog
    moved: set[str] = field(default_factory=set)
    both: set[str] = field(default_factory=set)
    handed: set[str] = field(default_factory=set)


def _edit(family: Family, edit: tuple[str, int, int]) -> None:
    """One edit a pull request could make; some make the catalog or a stack invalid."""
    what, index, value = edit
    catalog, config = family.catalog, family.stack["config"]
    models = catalog["models"]
    name = model_name(index % N)
    if what == "weight" and name in models:
        _weights(catalog, index % N, value % 101)
    elif what == "bad-weight" and name in models:
        models[name]["versions"]["v2"]["weight"] = 101 + value
    elif what == "add":
        models[model_name(N + index)] = model_body(N + index)
    elif what == "remove" and name in models and len(models) > 1:
        del models[name]
    elif what == "owner" and name in models:
        models[name]["owner"] = f"team-{value}"
    elif what == "args" and name in models:
        models[name]["versions"]["v2"].setdefault("args", []).append(f"--flag-{value}")
    elif what == "image" and name in models:
        image = models[name]["versions"]["v1"]["image"]
        models[name]["versions"]["v1"]["image"] = image[:-8] + f"{value:08x}"[-8:]
    elif what == "stack":
        config["modelstack:registry"]["prefix"] = f"prefix-{value}"
    elif what == "secret":
        config["modelstack:secrets"]["huggingface"] = ["token", f"key{value % 4}"]
    elif what == "pull-secret":
        config["modelstack:imagePullSecrets"] = [f"pull-{value % 3}"]
    elif what == "release":
        config["modelstack:release"] = {"prometheus": f"http://prometheus-{value % 5}.monitoring.svc:9090"}
    elif what == "autoscaling":
        # The adapter's rules are one stack-wide object over every model's versions.
        config["modelstack:autoscaling"] = {"engine": ("keda", "prometheus-adapter")[value % 2]}
    elif what == "pool":
        # The capacity plan sees every model against the pools: a stack-wide export.
        config["modelstack:nodePools"][value % 3]["maxNodes"] = 1 + value % 4
    elif what == "reorder" and name in models:
        models[name]["versions"] = dict(reversed(list(models[name]["versions"].items())))
    elif what == "move":
        family.moved ^= {name}
    elif what == "both":
        family.both ^= {name}
    elif what == "hand-over":
        family.handed ^= {name}


EDITS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                *("weight", "bad-weight", "add", "remove", "owner", "args", "image", "reorder"),
                *("stack", "secret", "pull-secret", "release", "autoscaling", "pool"),
                *("move", "both", "hand-over"),
            ]
        ),
        st.integers(0, 7),
        st.integers(0, 2**31),
    ),
    min_size=0,
    max_size=3,
)


def write_family(directory: Path, family: Family) -> Path:
    """The project with `Pulumi.bench.yaml` (unsharded) and the family: the base is the same settings
    with role base; each shard writes only its namespace, shard and render directory."""
    project = write_project(directory, family.catalog, family.stack)
    config = {
        **family.stack["config"],
        "modelstack:shard": {"role": "base"},
        "modelstack:kubernetes": {"target": "render", "renderDir": f"build/{BASE}"},
    }
    (project / f"Pulumi.{BASE}.yaml").write_text(dump({"config": config}), encoding="utf-8")
    selected: dict[str, list[str]] = {shard: [] for shard in SHARDS}
    for name in family.catalog["models"]:
        first = name.startswith("llm-") != (name in family.moved)
        selected[SHARDS[0] if first else SHARDS[1]].append(name)
        if name in family.both:
            selected[SHARDS[1] if first else SHARDS[0]].append(name)
    for shard, names in selected.items():
        choice: dict[str, Any] = {"role": "models", "base": BASE, "models": {"names": names or ["none"]}}
        handed = sorted(n for n in family.handed if n in names)
        if handed:
            choice["handOver"] = handed
        document = {
            "config": {
                "modelstack:namespace": family.stack["config"]["modelstack:namespace"],
                "modelstack:shard": choice,
                "modelstack:kubernetes": {"target": "render", "renderDir": f"build/{shard}"},
            }
        }
        (project / f"Pulumi.{shard}.yaml").write_text(dump(document), encoding="utf-8")
    return project


def _family() -> Family:
    return Family(copy.deepcopy(synthetic_catalog(N)), copy.deepcopy(synthetic_stack_config(N)))


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The base of every preview, per stack: the unedited family rendered without the cache."""
    work = tmp_path_factory.mktemp("base")
    project = write_family(work / "project", _family())
    renders = {}
    for stack in STACKS:
        write_render(run_program(project, stack), work / stack)
        renders[stack] = work / stack
    return renders


@pytest.fixture(scope="module")
def base(bases: dict[str, Path]) -> Path:
    return bases[STACK]


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> RenderCache:
    """One cache across the examples, so each one meets entries left by the ones before."""
    return RenderCache(tmp_path_factory.mktemp("cache"))


def _preview(
    project: Path, stack: str, base: Path, work: Path, cache: RenderCache | None
) -> Preview | CatalogError:
    guard = released_versions_guard(project, stack)
    try:
        return preview(project, stack, None, base, work, guard=guard, cache=cache)
    except CatalogError as exc:
        return exc


def _files(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("stack", STACKS)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_a_cached_preview_plans_and_renders_exactly_what_an_uncached_one_does(
    stack: str,
    edits: list[tuple[str, int, int]],
    bases: dict[str, Path],
    shared_cache: RenderCache,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    work = tmp_path_factory.mktemp("example")
    family = _family()
    for edit in edits:
        _edit(family, edit)
    project = write_family(work / "project", family)

    uncached = _preview(project, stack, bases[stack], work / "uncached", None)
    cached = _preview(project, stack, bases[stack], work / "cached", shared_cache)

    if isinstance(uncached, CatalogError):
        event("invalid")
        assert isinstance(cached, CatalogError)
        assert cached.problems == uncached.problems
        return
    event("valid")
    assert isinstance(cached, Preview)
    assert cached.plan == uncached.plan
    assert cached.warnings == uncached.warnings
    assert cached.findings == uncached.findings
    # Through the cache for real: an unattributable render would raise here (the preview falls back).
    incremental.cached_render(project, stack, shared_cache)
    render_stack_cached(project, stack, work / "cached-render", shared_cache)
    assert _files(work / "cached-render") == _files(work / "uncached" / "head")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "project", synthetic_catalog(N), synthetic_stack_config(N))


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The models each program run of the cached render declared."""
    runs: list[list[str]] = []
    original = incremental.render_models

    def spy(root: Path, stack: str, loaded: Any, models: Any, **options: Any) -> Any:
        runs.append(sorted(models))
        return original(root, stack, loaded, models, **options)

    monkeypatch.setattr(incremental, "render_models", spy)
    return runs


def test_unchanged_inputs_render_without_running_the_program(
    project: Path, tmp_path: Path, declared: list[list[str]]
) -> None:
    cache = RenderCache(tmp_path / "cache")
    incremental.cached_render(project, STACK, cache)
    assert len(declared) == 1

    again = incremental.cached_render(project, STACK, cache)

    assert len(declared) == 1
    assert again.objects == len(run_program(project, STACK).manifests)


def test_a_changed_model_is_the_only_one_the_program_declares_again(
    project: Path, tmp_path: Path, declared: list[list[str]]
) -> None:
    cache = RenderCache(tmp_path / "cache")
    incremental.cached_render(project, STACK, cache)
    catalog = synthetic_catalog(N)
    _weights(catalog, 2, 30)
    write_project(project, catalog, synthetic_stack_config(N))

    incremental.cached_render(project, STACK, cache)

    assert declared[-1] == [model_name(2)]


def test_a_stack_configuration_change_declares_every_model_again(
    project: Path, tmp_path: Path, declared: list[list[str]]
) -> None:
    cache = RenderCache(tmp_path / "cache")
    incremental.cached_render(project, STACK, cache)
    stack = synthetic_stack_config(N)
    stack["config"]["modelstack:registry"]["prefix"] = "elsewhere"
    write_project(project, synthetic_catalog(N), stack)

    incremental.cached_render(project, STACK, cache)

    assert declared[-1] == sorted(model_name(i) for i in range(N))


def test_a_code_change_declares_every_model_again(
    project: Path, tmp_path: Path, declared: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = RenderCache(tmp_path / "cache")
    incremental.cached_render(project, STACK, cache)
    # What an edit of any file of components/ or modelstack/ (or another SDK version) does to the key.
    monkeypatch.setattr(render_keys, "code_version", lambda: "another version of the code")

    incremental.cached_render(project, STACK, cache)

    assert declared[-1] == sorted(model_name(i) for i in range(N))


def test_the_code_version_follows_the_content_of_the_components(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelstack.engine import render_cache

    render_cache.code_version.cache_clear()
    before = render_cache.code_version()
    original = Path.read_bytes

    def edited(self: Path) -> bytes:
        data = original(self)
        return data + b"\n# edited" if self.name == "served_model.py" else data

    monkeypatch.setattr(Path, "read_bytes", edited)
    render_cache.code_version.cache_clear()
    try:
        assert render_cache.code_version() != before
    finally:
        monkeypatch.undo()
        render_cache.code_version.cache_clear()


def test_a_damaged_entry_is_a_miss_never_data(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path)
    cache.put("kind", "ab" * 32, {"objects": ["a"]})
    path = next(p for p in tmp_path.rglob("*") if p.is_file())
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF
    path.write_bytes(bytes(data))

    assert cache.get("kind", "ab" * 32) is None


def test_entries_are_written_whole_by_rename(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path)
    cache.put("kind", "cd" * 32, list(range(1000)))

    assert cache.get("kind", "cd" * 32) == list(range(1000))
    assert not [p for p in tmp_path.rglob(".writing-*")]


def test_trimming_keeps_the_cache_under_its_bound_dropping_the_least_recently_used(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path, max_bytes=40_000)
    for i in range(10):
        cache.put("kind", f"{i:064x}", "x" * 10_000)
        path = cache._path("kind", f"{i:064x}")
        os.utime(path, ns=(i * 10**9, i * 10**9))

    cache.trim()

    entries = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "usage"]
    kept = sorted(int(p.name, 16) for p in entries)
    assert sum(p.stat().st_size for p in entries) <= 40_000 * 0.8
    assert kept == list(range(10 - len(kept), 10))


def _entries_size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file() and p.name != "usage")


def test_a_run_that_stays_within_the_bound_is_added_to_the_ledger_without_walking_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = RenderCache(tmp_path, max_bytes=1_000_000)
    first.put("kind", "aa" * 32, "x" * 10_000)
    first.trim()  # no ledger yet: walks, and records the size it found
    second = RenderCache(tmp_path, max_bytes=1_000_000)
    second.put("kind", "bb" * 32, "y" * 10_000)

    def no_walk(*_: object) -> None:
        raise AssertionError("walked the cache")

    monkeypatch.setattr(os, "walk", no_walk)
    second.trim()

    ledger = [int(line) for line in (tmp_path / "usage").read_text().split()]
    assert sum(ledger) == _entries_size(tmp_path)


def test_runs_whose_ledger_passes_the_bound_trim_the_cache_under_it(tmp_path: Path) -> None:
    for i in range(10):
        cache = RenderCache(tmp_path, max_bytes=40_000)
        cache.put("kind", f"{i:064x}", "x" * 10_000)
        cache.trim()

    assert _entries_size(tmp_path) <= 40_000
    assert int((tmp_path / "usage").read_text().split()[0]) <= 40_000


def test_a_damaged_ledger_means_the_cache_is_walked_again(tmp_path: Path) -> None:
    for i in range(5):
        RenderCache(tmp_path).put("kind", f"{i:064x}", "x" * 10_000)
    (tmp_path / "usage").write_text("12\nnot a number\n")
    cache = RenderCache(tmp_path, max_bytes=20_000)
    cache.put("kind", f"{9:064x}", "x" * 10_000)

    cache.trim()

    assert _entries_size(tmp_path) <= 20_000 * 0.8
    assert (tmp_path / "usage").read_text().split() == [str(_entries_size(tmp_path))]


def test_an_edited_golden_set_file_declares_its_model_again(
    project: Path, tmp_path: Path, declared: list[list[str]]
) -> None:
    # The golden set is not in the catalog entry (only its path is): the evaluator's ConfigMap holds
    # its bytes, so the key must follow the file, or a cached render would ship the old examples.
    golden = json.loads((ROOT / "examples" / "golden-set" / "golden.json").read_text(encoding="utf-8"))
    (project / "golden.json").write_text(json.dumps(golden), encoding="utf-8")
    catalog = synthetic_catalog(N)
    evaluated = model_name(0)
    catalog["models"][evaluated]["analysis"] = {"goldenSet": {"file": "golden.json"}}
    write_project(project, catalog, synthetic_stack_config(N))
    cache = RenderCache(tmp_path / "cache")
    render_stack_cached(project, STACK, tmp_path / "first", cache)
    golden["examples"] = golden["examples"][:-1]
    (project / "golden.json").write_text(json.dumps(golden), encoding="utf-8")

    render_stack_cached(project, STACK, tmp_path / "cached", cache)
    render_stack(project, STACK, tmp_path / "plain")

    assert declared[-1] == [evaluated]
    assert _files(tmp_path / "cached") == _files(tmp_path / "plain") != _files(tmp_path / "first")


def test_a_model_that_builds_its_image_is_never_cached(tmp_path: Path, project_root: Path) -> None:
    from components.validation.loader import load_stack_and_catalog

    cache = RenderCache(tmp_path / "cache")
    _, loaded = load_stack_and_catalog(project_root, "dev")
    builders = [name for name, m in loaded.catalog.models.items() if incremental._builds(m)]
    assert builders, "the dev catalog has a model that builds its image"

    rendered = incremental.cached_render(project_root, "dev", cache)

    assert not set(builders) & set(rendered.model_keys)
    assert not list((tmp_path / "cache").glob(f"{render_keys.RENDER}/*/*"))


def test_the_repository_stacks_render_the_same_bytes_through_the_cache(
    tmp_path: Path, project_root: Path
) -> None:
    for stack in ("dev", "prod"):
        cache = RenderCache(tmp_path / "cache")
        render_stack(project_root, stack, tmp_path / f"{stack}-plain")
        render_stack_cached(project_root, stack, tmp_path / f"{stack}-cold", cache)
        render_stack_cached(project_root, stack, tmp_path / f"{stack}-warm", cache)

        plain = _files(tmp_path / f"{stack}-plain")
        assert _files(tmp_path / f"{stack}-cold") == plain
        assert _files(tmp_path / f"{stack}-warm") == plain


def test_misses_rendered_by_parallel_workers_give_the_same_bytes(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(incremental, "PARALLEL_MIN", 2)
    cache = RenderCache(tmp_path / "cache")

    rendered = incremental.cached_render(project, STACK, cache, jobs=2)

    # The workers' models came back through the cache, not from this process's run.
    assert set(rendered.loaded) < set(rendered.model_keys)
    render_stack(project, STACK, tmp_path / "plain")
    render_stack_cached(project, STACK, tmp_path / "cached", cache)
    assert _files(tmp_path / "cached") == _files(tmp_path / "plain")


def test_a_base_file_rewritten_after_it_was_indexed_is_read_again(base: Path, tmp_path: Path) -> None:
    directory = tmp_path / "render"
    directory.mkdir()
    for path in base.rglob("*.yaml"):
        target = directory / path.relative_to(base)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    cache = RenderCache(tmp_path / "cache")
    first = directory_index(directory, cache)
    assert first is not None
    key = next(iter(first))
    text = (directory / key).read_text()
    # Same size, written at once: only the content tells it apart.
    (directory / key).write_text(text.replace("a", "b", 1) if "a" in text else text + "#")

    again = directory_index(directory, cache)

    assert again is not None
    assert again[key] != first[key]
    assert {k: v for k, v in again.items() if k != key} == {k: v for k, v in first.items() if k != key}


def test_an_edit_of_the_base_file_declares_every_model_of_its_shards_again(
    tmp_path: Path, declared: list[list[str]]
) -> None:
    family = _family()
    project = write_family(tmp_path / "project", family)
    cache = RenderCache(tmp_path / "cache")
    incremental.cached_render(project, SHARDS[0], cache)
    # The shard's own file is unchanged: what it inherits from its base is not.
    family.stack["config"]["modelstack:registry"]["prefix"] = "elsewhere"
    write_family(project, family)

    incremental.cached_render(project, SHARDS[0], cache)

    assert declared[-1] == sorted(n for n in family.catalog["models"] if n.startswith("llm-"))


def test_a_sibling_shard_selecting_a_model_too_refuses_a_render_the_cache_held_whole(tmp_path: Path) -> None:
    family = _family()
    project = write_family(tmp_path / "project", family)
    cache = RenderCache(tmp_path / "cache")
    incremental.cached_render(project, SHARDS[0], cache)
    # Only the other shard's file changes: this shard's key inputs are the same bytes.
    family.both.add(model_name(0))
    write_family(project, family)

    with pytest.raises(CatalogError, match="is selected by"):
        incremental.cached_render(project, SHARDS[0], cache)


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_a_stack_file_that_is_no_regular_file_is_refused_through_the_cache_as_without_it(
    project: Path, tmp_path: Path, kind: str
) -> None:
    import subprocess

    path = project / f"Pulumi.{STACK}.yaml"
    path.unlink()
    if kind == "device":
        path.symlink_to("/dev/zero")  # read whole for a key, it would exhaust memory
    else:
        os.mkfifo(path)  # opened without O_NONBLOCK, it would block forever
    env = {**os.environ, "MODELSTACK_CACHE_DIR": str(tmp_path / "cache")}

    result = subprocess.run(
        [sys.executable, "-m", "modelstack", "render", "--stack", STACK, "--out", str(tmp_path / "out")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2, result.stderr
    assert "is not a regular file" in result.stderr


def _with_a_warning(project: Path) -> None:
    """Model 0 autoscaled with no range: a warning, located in models.yaml, that a whole render keeps."""
    catalog = synthetic_catalog(N)
    for version in catalog["models"][model_name(0)]["versions"].values():
        version["replicas"] = {"min": 2, "max": 2}
    write_project(project, catalog, synthetic_stack_config(N))


def _copy_elsewhere(project: Path, tmp_path: Path) -> Path:
    """The same project checked out at another path (what `preview --base`'s worktree is)."""
    copy = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(project, copy)
    return copy


def test_a_copy_of_the_project_elsewhere_finds_the_render_whole_when_run_from_its_root(
    project: Path, tmp_path: Path, declared: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `preview --base` meets: the base revision checked out in a new temporary worktree each time.
    from components.validation.loader import load_stack_and_catalog

    _with_a_warning(project)
    cache = RenderCache(tmp_path / "cache")
    copy = _copy_elsewhere(project, tmp_path)
    monkeypatch.chdir(project)
    incremental.cached_render(project, STACK, cache)
    monkeypatch.chdir(copy)

    again = incremental.cached_render(copy, STACK, cache)

    assert len(declared) == 1
    warnings = load_stack_and_catalog(copy, STACK)[1].warnings
    assert warnings and again.warnings == warnings
    render_stack(copy, STACK, tmp_path / "plain")
    render_stack_cached(copy, STACK, tmp_path / "cached", cache)
    assert _files(tmp_path / "cached") == _files(tmp_path / "plain")


def test_a_copy_whose_catalog_differs_does_not_get_the_others_whole_render(
    project: Path, tmp_path: Path, declared: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = RenderCache(tmp_path / "cache")
    copy = _copy_elsewhere(project, tmp_path)
    catalog = synthetic_catalog(N)
    _weights(catalog, 1, 40)
    write_project(copy, catalog, synthetic_stack_config(N))
    monkeypatch.chdir(project)
    incremental.cached_render(project, STACK, cache)
    monkeypatch.chdir(copy)

    incremental.cached_render(copy, STACK, cache)

    assert declared[-1] == [model_name(1)]


def test_a_render_run_from_outside_the_root_is_keyed_by_where_it_runs(
    project: Path, tmp_path: Path, declared: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Messages then name files from the working directory: another checkout's would name other paths.
    _with_a_warning(project)
    cache = RenderCache(tmp_path / "cache")
    copy = _copy_elsewhere(project, tmp_path)
    monkeypatch.chdir(tmp_path)
    first = incremental.cached_render(project, STACK, cache)

    again = incremental.cached_render(copy, STACK, cache)

    assert len(declared) == 2  # the stack-wide objects ran again (every model's entry was a hit)
    assert {w.file for w in first.warnings} != {w.file for w in again.warnings}


def test_renders_of_two_catalogs_of_one_stack_are_both_kept_whole(
    project: Path, tmp_path: Path, declared: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A preview's head and its base (or two branches checked out in turn) share every input but the
    # catalog: the one rendered last must not take the other's place.
    cache = RenderCache(tmp_path / "cache")
    monkeypatch.chdir(project)
    incremental.cached_render(project, STACK, cache)
    catalog = synthetic_catalog(N)
    _weights(catalog, 3, 25)
    write_project(project, catalog, synthetic_stack_config(N))
    incremental.cached_render(project, STACK, cache)
    runs = len(declared)

    write_project(project, synthetic_catalog(N), synthetic_stack_config(N))
    back = incremental.cached_render(project, STACK, cache)
    write_project(project, catalog, synthetic_stack_config(N))
    again = incremental.cached_render(project, STACK, cache)

    assert len(declared) == runs
    assert back.index != again.index


@given(count=st.integers(min_value=0, max_value=400), jobs=st.integers(min_value=2, max_value=8))
def test_worker_groups_leave_this_process_the_first_and_largest_share(count: int, jobs: int) -> None:
    models = [f"m{i}" for i in range(count)]

    groups = incremental.worker_groups(models, jobs)

    here = count - sum(len(group) for group in groups)
    assert [m for group in groups for m in group] == models[here:]  # each model once, in catalog order
    assert len(groups) <= jobs - 1
    assert all(group for group in groups)
    assert all(here >= len(group) for group in groups)
