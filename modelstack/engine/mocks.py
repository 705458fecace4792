"""Pulumi's mock runtime, set up to record every resource the program registers."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks
from pulumi.runtime.mocks import MockMonitor

from modelstack.engine.process_policy import GC_THRESHOLD, _Policy, one_shot_process


@dataclass(frozen=True)
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    urn: str = ""
    parent: str = ""
    """The parent's URN ("" for the stack itself): which model a resource belongs to (the render cache)."""


def fake_digest(*parts: Any) -> str:
    """A deterministic `sha256:` digest standing in for what a registry would return."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def build_content(inputs: Mapping[str, Any]) -> dict[str, str | None]:
    """What a build reads from disk, by content: the context's files and the Dockerfile's place in it."""
    from components.images.context_hash import update_with_tree

    context = Path(str((inputs.get("context") or {}).get("location") or ""))
    dockerfile = str((inputs.get("dockerfile") or {}).get("location") or "")
    tree = hashlib.sha256()
    if context.is_dir():
        update_with_tree(tree, context)
    relative = os.path.relpath(dockerfile, context) if dockerfile else None
    return {"context": tree.hexdigest(), "dockerfile": relative}


class RecordingMocks(Mocks):
    """Answers like an engine that created everything, and remembers what was asked for."""

    def __init__(self, stack_outputs: Callable[[str], dict[str, Any]] | None = None) -> None:
        self.registered: list[Registered] = []
        self.stack_outputs = stack_outputs
        """Answers a StackReference: the outputs of the named stack (`org/project/stack`)."""
        self.positions = threading.local()
        """The URN and parent URN of the registration in progress on each thread (set by
        RecordingMonitor): the SDK registers from several executor threads at once."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        urn, parent = getattr(self.positions, "current", ("", ""))
        self.registered.append(Registered(args.typ, args.name, args.inputs, urn, parent))
        if args.typ == "pulumi:pulumi:StackReference":
            name = str(args.inputs.get("name") or args.name)
            if self.stack_outputs is None:
                raise ValueError(f"the offline engine cannot read stack {name}")
            return name, {"name": name, "outputs": self.stack_outputs(name), "secretOutputNames": []}
        # Only outputs that differ from the inputs: outside preview the SDK resolves every output the
        # engine leaves out to its input value, so echoing all inputs back only doubles the
        # serialization work of every resource.
        state: dict[str, Any] = {}
        if args.typ == "docker-build:index:Image":
            # The digest a push would report: derived from everything that determines the image, by
            # content only. The context and Dockerfile locations are absolute paths of this checkout, so
            # hashing them made the base of `preview --base` (a temporary worktree) never match.
            state["digest"] = fake_digest(
                build_content(args.inputs),
                args.inputs.get("buildArgs"),
                args.inputs.get("platforms"),
                args.inputs.get("tags"),
            )
            state["ref"] = f"{(args.inputs.get('tags') or ['image'])[0]}@{state['digest']}"
            if "contextHash" not in args.inputs:
                state["contextHash"] = state["digest"][7:]
        return f"{args.name}-id", state

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, telling the mocks where in the resource tree each registration is (the
    mocks' own arguments carry no parent)."""

    mocks: RecordingMocks

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method's name)
        self.mocks.positions.current = (
            self.make_urn(request.parent, request.type, request.name),
            request.parent,
        )
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 (a StackReference is read, not registered)
        self.mocks.positions.current = (
            self.make_urn(request.parent, request.type, request.name),
            request.parent,
        )
        return super().ReadResource(request)  # type: ignore[no-untyped-call]


def install(
    project: str,
    stack: str,
    preview: bool = False,
    stack_outputs: Callable[[str], dict[str, Any]] | None = None,
) -> RecordingMocks:
    """Fresh mocks and a fresh root stack, so a process can run the program more than once."""
    from pulumi.runtime import settings

    settings.ROOT.set(None)
    mocks = RecordingMocks(stack_outputs)
    pulumi.runtime.set_mocks(
        mocks, project=project, stack=stack, preview=preview, monitor=RecordingMonitor(mocks)
    )
    return mocks


@contextmanager
def program_gc() -> Iterator[None]:
    """Collect garbage rarely while a program runs under the mocks.

    Every resource leaves tens of futures, tasks and callbacks alive until the end of the run, so with the
    default thresholds the cyclic collector rescans an ever larger heap: half of a large render's CPU
    time, and the reason its cost grew faster than its number of models. The objects of the imports are
    frozen out of the scans, and collections happen a hundred times less often.
    """
    saved = gc.get_threshold()
    if not _Policy.one_shot:
        # A one-shot process frees nothing it would miss by freezing garbage too (~0.1 s of a warm
        # preview's scan at 1,000 models); a library caller's heap is collected first.
        gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        if _Policy.one_shot:
            gc.freeze()
            gc.set_threshold(*saved)
        else:
            gc.set_threshold(*saved)
            gc.unfreeze()


@contextmanager
def no_source_positions() -> Iterator[None]:
    """Skip the call stack the SDK records with every resource registration.

    For each resource the SDK walks the whole Python stack (`traceback.extract_stack`: a stat() per
    source file, a file URI per frame) to tell the engine where the resource was declared. The mock
    monitor discards it, and components nest resources deep, so offline it is pure cost: about a tenth
    of a render. Without that private hook (another SDK version) nothing is skipped.
    """
    from pulumi.runtime import resource
    from pulumi.runtime.proto import source_pb2

    original = getattr(resource, "_get_stack_trace", None)
    if original is not None:
        setattr(resource, "_get_stack_trace", source_pb2.StackTrace)  # noqa: B010
    try:
        yield
    finally:
        if original is not None:
            setattr(resource, "_get_stack_trace", original)  # noqa: B010


@contextmanager
def lean_runtime() -> Iterator[None]:
    """The runtime settings every offline run of a program uses (render and the benchmark's floor)."""
    with program_gc(), no_source_positions():
        yield


__all__ = ["one_shot_process"]
