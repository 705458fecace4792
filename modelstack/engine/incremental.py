"""The cached render: run the program only for the models whose objects the render cache does not hold.

A render is the stack-wide objects (providers, namespace, PeerAuthentication, node pools, MIG layouts,
the metrics adapter's rules, the stack outputs: contract and capacity plan, and the versions lock), which
depend on the whole catalog, plus each model's objects (everything below its ServedModel), which depend
only on that model's entry, the stack configuration and the code (`render_keys`). So:

- **unchanged inputs** (the same stack file, Pulumi.yaml, catalog and other stack files, code, and working
  directory unless run from the project root): the whole render comes from one entry, keyed by those
  bytes; nothing is parsed, validated or run. Renders of other catalogs for the same stack (a preview's
  base and head, two branches) are entries of their own;
- **otherwise** the catalog is validated as `modelstack validate` does, every model's key is computed,
  and the program runs under the mock runtime with only the models the cache misses declared, the
  stack-wide objects always recomputed from the whole catalog. What it registers below each model's
  ServedModel (by the parent links the mock monitor records) is stored under that model's key. When the
  misses are many, they are rendered in parallel processes (`shard`) and merged.

Objects are carried as their YAML text (what `render` writes, so a cached render is byte for byte the
uncached one), its SHA-256 (what a preview compares), and the object itself, loaded only for the objects a
preview finds changed.
"""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import sys
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelstack.engine.render_cache import RenderCache, code_version, digest
from modelstack.engine.render_keys import (
    file_dependencies,
    model_key,
    project_dependencies,
    stack_key,
)
from modelstack.engine.render_store import (
    MODEL_INDEX,
    CachedRender,
    CacheVanishedError,
    RenderedModel,
    store_model,
    store_whole,
    stored_whole,
    text_digest,
)

if TYPE_CHECKING:
    from components.validation.loader import LoadedCatalog, SchemaChecked
    from modelstack.engine.rules_beside import Beside

SERVED_MODEL = "modelstack:index:ServedModel"
PARALLEL_MIN = 64
"""Misses below this many models are rendered in this process (a second one costs ~2 s to start)."""

MAIN_EXTRA_SHARE = 0.05
"""The fraction of the models this process renders beyond an equal share (`worker_groups`)."""

CATALOG_ENTRIES = "catalog-entries"


# --- rendering the misses -------------------------------------------------------------------------


def _owners(registered: Sequence[Any]) -> dict[str, str] | None:
    """URN → the model whose ServedModel is at or above it; None when two registrations share a URN (the
    mock monitor's URNs name only the parent's type, so the tree could not be told apart)."""
    parents: dict[str, str] = {}
    models: dict[str, str] = {}
    for r in registered:
        if not r.urn or r.urn in parents:
            return None
        parents[r.urn] = r.parent
        if r.type == SERVED_MODEL:
            models[r.urn] = r.name
    owners: dict[str, str] = {}

    def owner(urn: str) -> str:
        if urn in owners:
            return owners[urn]
        found = models.get(urn) or (owner(parents[urn]) if parents.get(urn) else "")
        owners[urn] = found
        return found

    for urn in parents:
        owner(urn)
    return owners


def render_models(
    root: Path,
    stack: str,
    loaded: tuple[Any, Any],
    declared: Collection[str],
    capacity: Callable[[], dict[str, Any] | None] | None = None,
) -> tuple[dict[str, RenderedModel], dict[str, tuple[str, dict[str, Any]]], dict[str, Any], int] | None:
    """Run the program declaring only `declared`: each model's objects, the stack-wide objects, the stack
    outputs, the number of stack-wide registrations. None when the resource tree cannot be attributed.
    `capacity`: the catalog's capacity plan, planned beside the program (see `components.program.main`)."""
    from modelstack.engine.render import _manifest, run_program
    from modelstack.engine.render_files import dump_yaml

    render = run_program(root, stack, loaded=loaded, declared=declared, capacity=capacity)
    owners = _owners(render.resources)
    if owners is None:
        return None
    lock = render.lock.get("models", {})
    models = {name: RenderedModel({}, {}, [], lock.get(name, {}), 0) for name in declared}
    stack_objects: dict[str, tuple[str, dict[str, Any]]] = {}
    stack_resources = 0
    for resource in render.resources:
        owner = owners[resource.urn]
        if owner:
            models[owner].resources += 1
        else:
            stack_resources += 1
        manifest = _manifest(resource)
        if manifest is None:
            continue
        text = dump_yaml(manifest.body)
        if not owner:
            if manifest.key in stack_objects:
                raise ValueError(f"two resources render to the same object {manifest.key}")
            stack_objects[manifest.key] = (text, manifest.body)
            continue
        model = models[owner]
        if manifest.key in model.texts:
            raise ValueError(f"two resources render to the same object {manifest.key}")
        model.texts[manifest.key] = text
        model.bodies[manifest.key] = manifest.body
        model.index.append((manifest.key, text_digest(text)))
    return models, stack_objects, render.outputs, stack_resources


def _builds(model: Any) -> bool:
    return any(version.build is not None for version in model.versions.values())


def read_files(model: Any, catalog_dir: Path) -> list[Path]:
    """Files besides the catalog whose bytes become the model's objects: its golden set (the evaluator's
    ConfigMap holds it), found beside the catalog as the program finds it."""
    analysis = model.analysis
    if analysis is None or analysis.golden_set is None:
        return []
    return [catalog_dir / analysis.golden_set.file]


@dataclass(frozen=True)
class _Plan:
    """What a run must do: each model's key (None: never cached) and the cached index of the others."""

    keys: dict[str, str | None]
    hits: dict[str, dict[str, Any]]

    @property
    def misses(self) -> list[str]:
        return [name for name in self.keys if name not in self.hits]


def _plan(cache: RenderCache, run: _Run) -> _Plan:
    """Only the models this stack owns (a base: none; a models shard: its selection), in catalog order."""
    from components.catalog.catalog import served_models

    catalog_dir = (run.root / run.config.catalog).parent
    keys: dict[str, str | None] = {}
    hits: dict[str, dict[str, Any]] = {}
    for name, model in served_models(run.catalog, run.config).items():
        if _builds(model):
            keys[name] = None
            continue
        key = model_key(run.shared, name, run.checked.entries.get(name), read_files(model, catalog_dir))
        keys[name] = key
        entry = cache.get(MODEL_INDEX, key)
        if entry is not None:
            hits[name] = entry
    return _Plan(keys, hits)


class CatalogMemo:
    """The parse of each model entry of a catalog, kept in the render cache between runs
    (`components.catalog.source.load_catalog_yaml`): one entry per code version, holding the entries of
    the catalog parsed last, whatever its path (an entry is keyed by its text, so a preview's base in a
    temporary worktree and its head share every entry they have in common)."""

    def __init__(self, cache: RenderCache) -> None:
        self.cache = cache

    def _key(self) -> str:
        return digest(code_version(), CATALOG_ENTRIES)

    def load(self) -> dict[str, Any]:
        found = self.cache.get(CATALOG_ENTRIES, self._key())
        return found if isinstance(found, dict) else {}

    def store(self, entries: dict[str, Any]) -> None:
        # A value marshal cannot write (a YAML timestamp) only means the next run parses again.
        with contextlib.suppress(ValueError):
            self.cache.put(CATALOG_ENTRIES, self._key(), entries)


@dataclass(frozen=True)
class _Run:
    """A cached render past the schema: what it renders from, and the key every model's objects share."""

    root: Path
    stack: str
    inputs: str
    """`render_keys.inputs_key` of this run."""
    config: Any
    checked: SchemaChecked
    catalog: Any
    """The catalog as the schema built it: nothing stored from it before the rules passed it."""
    shared: str


def _checked(root: Path, stack: str, cache: RenderCache | None = None, inputs: str = "") -> _Run:
    """The stack configuration, the catalog past the schema (its rules still to run: `rules_beside`) and
    the key every model's objects share; raises CatalogError when the schema already rejects the catalog."""
    from components.catalog.catalog import served_models
    from components.catalog.shard import ShardRole
    from components.validation.loader import check_stack_and_catalog_schema, stack_wire
    from modelstack.engine.offline_world import PROJECT, base_outputs

    memo = CatalogMemo(cache) if cache is not None else None
    config, checked = check_stack_and_catalog_schema(root, stack, memo=memo)
    catalog = checked.catalog
    if catalog is None or checked.schema_failed:
        raise AssertionError(checked.finish(checked.rule_problems()))  # finish raises CatalogError first
    wire, _ = stack_wire(root, stack)
    served = served_models(catalog, config)
    builds = any(_builds(m) for m in served.values()) and config.build_images
    # The shard's objects wait on the check of what it reads (a warning or an error, never an object's
    # field), but what they see of the base is theirs to depend on: keyed, so no model can miss it.
    base = None
    if config.shard.role is ShardRole.MODELS and config.shard.base is not None:
        base = base_outputs(root, config.shard.base)
    shared = stack_key(PROJECT, stack, wire, config, base=base, builds_images=builds)
    return _Run(root, stack, inputs, config, checked, catalog, shared)


def _validated(root: Path, stack: str, cache: RenderCache | None = None) -> tuple[Any, LoadedCatalog, str]:
    """`_checked` with the rules run here: the validated catalog."""
    run = _checked(root, stack, cache)
    return run.config, run.checked.finish(run.checked.rule_problems()), run.shared


def shard(root: Path, stack: str, models: Sequence[str], cache: RenderCache) -> None:
    """Render `models` and store them (a parallel worker of `cached_render`)."""
    config, loaded, shared = _validated(root, stack, cache)
    result = render_models(root, stack, (config, loaded.catalog), models)
    if result is None:
        return
    catalog_dir = (root / config.catalog).parent
    served = loaded.catalog.models
    for name, model in result[0].items():
        key = model_key(shared, name, loaded.entries.get(name), read_files(served[name], catalog_dir))
        store_model(cache, key, model)


def _workers(
    root: Path, stack: str, groups: Sequence[Sequence[str]], cache: RenderCache
) -> list[subprocess.Popen[bytes]]:
    processes = []
    for group in groups:
        command = [sys.executable, "-m", "modelstack.engine.shard", str(root), stack, str(cache.directory)]
        # A worker that fails stores nothing: this process then renders its models itself.
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        assert process.stdin is not None
        process.stdin.write("\n".join(group).encode())
        process.stdin.close()
        processes.append(process)
    return processes


def worker_groups(models: Sequence[str], jobs: int) -> list[list[str]]:
    """The models each of `jobs - 1` workers renders; this process renders the rest (the first ones).

    A worker starts rendering later than this process: it starts an interpreter, imports the program and
    checks the whole catalog again (~0.7 s of a 1,000-model render on 2 cores, measured), so this process
    takes `MAIN_EXTRA_SHARE` more than an equal share and both finish together."""
    here = min(len(models), math.ceil(len(models) * (1 / jobs + MAIN_EXTRA_SHARE)))
    rest = models[here:]
    size = -(-len(rest) // (jobs - 1)) if rest else 1
    return [list(rest[i : i + size]) for i in range(0, len(rest), size)]


def jobs_default() -> int:
    """Processes for a render's misses: `$MODELSTACK_JOBS`, else one per CPU (at most 8)."""
    explicit = os.environ.get("MODELSTACK_JOBS", "")
    if explicit.isdigit() and int(explicit) > 0:
        return int(explicit)
    return max(1, min(os.cpu_count() or 1, 8))


def _dependencies(root: Path, config: Any, catalog: Any) -> dict[str, str]:
    """The files a whole render is reused only while unchanged: the project's and every golden set."""
    catalog_dir = (root / config.catalog).parent
    dependencies = project_dependencies(root, root / config.catalog)
    for model in catalog.models.values():
        dependencies.update(file_dependencies(read_files(model, catalog_dir), root))
    return dependencies


def cached_render(root: Path, stack: str, cache: RenderCache, *, jobs: int | None = None) -> CachedRender:
    """The render of `stack`, from the cache where it can; raises CatalogError like `run_program`."""
    root = Path(root)
    inputs, whole = stored_whole(root, stack, cache)
    if whole is not None:
        return whole
    from modelstack.engine.rules_beside import rules_beside

    run = _checked(root, stack, cache, inputs)
    with rules_beside(run.checked) as beside:
        return _render_checked(run, cache, jobs, beside)


def _render_checked(run: _Run, cache: RenderCache, jobs: int | None, beside: Beside) -> CachedRender:
    """`cached_render` of a catalog past the schema, its rules running meanwhile (`rules_beside`): nothing
    is stored, and no error of the program's is raised, before `beside.validated()` has passed the
    catalog."""
    root, stack, config, catalog = run.root, run.stack, run.config, run.catalog
    # Taken before the program runs: a file edited meanwhile is then a miss next time, never stale.
    dependencies = _dependencies(root, config, catalog)
    plan = _plan(cache, run)
    misses = plan.misses
    jobs = jobs_default() if jobs is None else jobs
    groups: list[list[str]] = []
    cacheable = [m for m in misses if plan.keys[m] is not None]
    if jobs > 1 and len(cacheable) >= PARALLEL_MIN:
        # This process renders its share (with the stack-wide objects and every model that builds), the
        # workers the rest; they store what they render, this process reads it back.
        groups = worker_groups(cacheable, jobs)
    elsewhere = {m for group in groups for m in group}
    processes = _workers(root, stack, groups, cache)
    here = [m for m in misses if m not in elsewhere]
    try:
        result = render_models(root, stack, (config, catalog), here, capacity=beside.capacity)
    except Exception:
        beside.validated()  # a catalog the rules reject is reported as such, not as what the program made of it
        raise
    loaded = beside.validated()
    for process in processes:
        process.wait()
    if result is None:
        raise UnattributableRenderError
    rendered = _merged(cache, plan, result, loaded)
    if rendered is None:
        # A worker failed, or its entries were trimmed meanwhile: render everything here.
        return cached_render(root, stack, cache, jobs=1)
    if all(key is not None for key in plan.keys.values()):
        store_whole(cache, run.inputs, dependencies, rendered)
    cache.trim()
    return rendered


def _merged(
    cache: RenderCache,
    plan: _Plan,
    result: tuple[dict[str, RenderedModel], dict[str, Any], dict[str, Any], int],
    loaded: LoadedCatalog,
) -> CachedRender | None:
    """The models this run rendered (now stored) and the cached rest in one render; None when a cached
    model's entry is gone."""
    from modelstack.engine.lock import LOCK_FORMAT

    models, stack_objects, outputs, stack_resources = result
    for name, model in models.items():
        key = plan.keys[name]
        if key is not None:
            store_model(cache, key, model)
    index: dict[str, tuple[str, str]] = {}
    lock_models: dict[str, Any] = {}
    resources = stack_resources
    loaded_here: dict[str, tuple[dict[str, str], dict[str, Any] | None]] = {}
    for object_key, (text, _) in stack_objects.items():
        index[object_key] = (text_digest(text), "")
    for name in plan.keys:
        key = plan.keys[name]
        if name in models:
            model = models[name]
            entry: dict[str, Any] = {"index": model.index, "lock": model.lock, "resources": model.resources}
            loaded_here[name] = (model.texts, model.bodies)
        else:
            entry = plan.hits.get(name) or cache.get(MODEL_INDEX, key or "")
            if entry is None:
                return None
        for object_key, sha in entry["index"]:
            if object_key in index:
                raise ValueError(f"two resources render to the same object {object_key}")
            index[object_key] = (sha, name)
        lock_models[name] = entry["lock"]
        resources += entry["resources"]
    return CachedRender(
        index=index,
        outputs=outputs,
        lock={"format": LOCK_FORMAT, "models": lock_models},
        warnings=tuple(loaded.warnings),
        resources=resources,
        model_keys={name: key for name, key in plan.keys.items() if key is not None},
        stack_objects=stack_objects,
        cache=cache,
        loaded=loaded_here,
    )


class UnattributableRenderError(Exception):
    """The mock monitor's URNs did not tell every resource's model apart: render without the cache."""


def render_stack_cached(root: Path, stack: str, out: Path, cache: RenderCache) -> int:
    """`render.render_stack` through the render cache (the same bytes): the number of objects written."""
    from modelstack.engine.render_files import write_texts

    try:
        rendered = cached_render(root, stack, cache)
        write_texts(rendered.texts(), rendered.outputs, rendered.lock, out)
        return rendered.objects
    except (CacheVanishedError, UnattributableRenderError):
        from modelstack.engine.render import render_stack

        return len(render_stack(root, stack, out).manifests)
