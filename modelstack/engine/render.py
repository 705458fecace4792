"""Offline render: run the Pulumi program under the mock runtime and write every Kubernetes object.

The stack's configuration comes from `Pulumi.<stack>.yaml` exactly as the Pulumi CLI would pass it
(`PULUMI_CONFIG`), so the program cannot tell the difference.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.catalog.errors import CatalogError
from components.validation.loader import stack_wire
from modelstack.engine.lock import versions_lock
from modelstack.engine.manifest import Manifest
from modelstack.engine.mocks import Registered, install, lean_runtime
from modelstack.engine.offline_world import PROJECT, base_outputs
from modelstack.engine.render_files import dump_yaml, lock_json, outputs_json, unique_keys, write_texts


@dataclass(frozen=True)
class Render:
    manifests: list[Manifest]
    outputs: dict[str, Any]
    resources: list[Registered]
    lock: dict[str, Any] = field(default_factory=dict)
    """What each version was released as (`versions.lock.json`), for `preview`'s immutability check."""


@contextmanager
def _environment(root: Path, stack: str) -> Iterator[None]:
    wire, _ = stack_wire(root, stack)
    saved = {k: os.environ.get(k) for k in ("PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS")}
    os.environ["PULUMI_CONFIG"] = json.dumps(wire.values)
    os.environ["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(sorted(wire.secret_keys))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def normalize(value: Any) -> Any:
    """Undo the protobuf round trip: integral floats back to ints, keys sorted by the dumper."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


def _manifest(resource: Registered) -> Manifest | None:
    inputs = resource.inputs
    if not resource.type.startswith("kubernetes:") or "kind" not in inputs:
        return None
    body = normalize(inputs)
    meta = body.get("metadata") or {}
    return Manifest(
        body["apiVersion"], body["kind"], meta.get("namespace"), meta.get("name", resource.name), body
    )


class _HoldsOutputError(Exception):
    """`_plain` met an Output: the value must be awaited."""


def _plain(value: Any, output: type) -> Any:
    """`value` copied as `_resolved` returns it (tuples as lists, integral floats as ints), or
    _HoldsOutputError."""
    cls = value.__class__
    # The leaves of the contract and the capacity plan, tested first: most of the walk.
    if cls is str or cls is int or cls is bool or value is None:
        return value
    if isinstance(value, dict):
        return {key: _plain(item, output) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, output) for item in value]
    if isinstance(value, output):
        raise _HoldsOutputError
    return normalize(value)


async def _resolved(value: Any) -> Any:
    """`value` with every Output in it awaited, normalized (`normalize`) in the same walk. `Output.from_input`
    would lift every dict and list of the stack outputs into Outputs first: a fifth of a render's time with
    the per-model exports. A part with no Output in it (the contract's models, the capacity plan) is copied
    without a coroutine per value."""
    import pulumi

    if isinstance(value, dict | list | tuple):
        try:
            return _plain(value, pulumi.Output)
        except _HoldsOutputError:
            pass
    if isinstance(value, pulumi.Output):
        return await _resolved(await value.future())
    if isinstance(value, dict):
        return {key: await _resolved(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [await _resolved(item) for item in value]
    return normalize(value)


def run_program(
    root: Path,
    stack: str,
    *,
    loaded: tuple[Any, Any] | None = None,
    declared: Collection[str] | None = None,
    capacity: Callable[[], dict[str, Any] | None] | None = None,
) -> Render:
    """Run `components.program.main` under mocks. Raises CatalogError before registering anything.

    `loaded` (the stack configuration and catalog already validated from the same files), `declared`
    (the models to declare) and `capacity` (the plan of `loaded`) are the render cache's: see
    `components.program.main`."""
    import pulumi
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from components import program
    from modelstack.engine.direct import direct_registration

    with _environment(root, stack), lean_runtime():
        mocks = install(PROJECT, stack, stack_outputs=lambda name: base_outputs(root, name))
        failure: list[BaseException] = []
        stacks: list[Any] = []

        def body() -> None:
            try:
                stacks.append(program.main(root, loaded=loaded, declared=declared, capacity=capacity))
            except pulumi.RunError as exc:
                failure.append(exc.__context__ or exc)

        with direct_registration(mocks):
            _sync_await(run_pulumi_func(body))
        if failure:
            raise failure[0]
        root_resource = settings.get_root_resource()
        exported = getattr(root_resource, "outputs", {})

        outputs = _sync_await(_resolved(exported)) or {}
    manifests = [m for r in mocks.registered if (m := _manifest(r)) is not None]
    lock = versions_lock(stacks[0], manifests) if stacks else {}
    return Render(manifests, outputs, mocks.registered, lock)


def write_render(render: Render, out: Path) -> int:
    """Write one file per object plus outputs.json and the lock, atomically replacing `out` (see
    render_dir); the number of files written."""
    unique_keys(m.key for m in render.manifests)
    texts = [(m.key, dump_yaml(m.body)) for m in render.manifests]
    return write_texts(texts, render.outputs, render.lock, out)


def render_stack(root: Path, stack: str, out: Path) -> Render:
    render = run_program(root, stack)
    write_render(render, out)
    return render


__all__ = [
    "CatalogError",
    "Manifest",
    "Render",
    "dump_yaml",
    "lock_json",
    "outputs_json",
    "render_stack",
    "run_program",
    "write_render",
    "write_texts",
]
