"""`KubernetesObject` registers each object exactly as pulumi-kubernetes' generated class for its kind does.

The oracle is pulumi-kubernetes 4.25 itself. Every object the dev and prod stacks render is declared
twice, once through `KubernetesObject` and once through the generated class of its kind
(`k8s.apps.v1.Deployment`, ..., `k8s.apiextensions.CustomResource` for a CRD's kind), each under the
SDK's own registration path (MODELSTACK_SDK_REGISTRATION=1: pulumi's `register_resource`, the protobuf
request and the mock monitor). The RegisterResource requests the engine would receive must be equal field
for field (type token, name, inputs, provider, version, plugin URL, options), except for the aliases some
generated classes add for older type tokens, which `KubernetesObject` leaves out (see its module).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict

from bench.floors import declare_with_generated_class, registrations_under_mocks
from components.kubernetes_object import KubernetesObject
from modelstack.engine.direct import sdk_registration
from modelstack.engine.mocks import RecordingMonitor
from modelstack.engine.render import run_program

ROOT = Path(__file__).resolve().parents[2]
ALIASES = ("aliasSpecs", "aliases")


@contextmanager
def _sdk_requests() -> Iterator[list[dict[str, Any]]]:
    """The RegisterResource requests of Kubernetes objects, as the SDK's mock monitor receives them."""
    requests: list[dict[str, Any]] = []
    original = RecordingMonitor.RegisterResource

    def recording(self: RecordingMonitor, request: Any) -> Any:
        if request.type.startswith("kubernetes:"):
            requests.append(MessageToDict(request))
        return original(self, request)

    RecordingMonitor.RegisterResource = recording  # type: ignore[method-assign]
    try:
        with sdk_registration():
            yield requests
    finally:
        RecordingMonitor.RegisterResource = original  # type: ignore[method-assign]


def _registered(declare: Callable[[Any, str, dict[str, Any]], None], objects: list[Any]) -> dict[str, Any]:
    def program() -> None:
        import pulumi
        import pulumi_kubernetes as k8s

        provider = k8s.Provider("kubernetes", render_yaml_to_directory="rendered")
        for name, manifest in objects:
            declare(pulumi.ResourceOptions(provider=provider), name, manifest)

    with _sdk_requests() as requests:
        registrations_under_mocks(program)
    return {(request["type"], request["name"]): request for request in requests}


def _rendered_objects(stack: str) -> list[tuple[str, dict[str, Any]]]:
    """Every Kubernetes object the stack registers: its resource name and its inputs."""
    render = run_program(ROOT, stack)
    return [(r.name, r.inputs) for r in render.resources if r.type.startswith("kubernetes:")]


def _as_object(options: Any, name: str, manifest: dict[str, Any]) -> None:
    KubernetesObject(name, manifest["apiVersion"], manifest["kind"], manifest, options)


def _as_generated_class(options: Any, name: str, manifest: dict[str, Any]) -> None:
    declare_with_generated_class(name, manifest, options, {})


@functools.cache
def _both(stack: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    objects = _rendered_objects(stack)
    return len(objects), _registered(_as_object, objects), _registered(_as_generated_class, objects)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_rendered_object_registers_what_its_generated_class_registers(stack: str) -> None:
    count, ours, theirs = _both(stack)
    assert len(ours) == count and ours.keys() == theirs.keys()
    for key, request in ours.items():
        generated = theirs[key]
        assert {k: v for k, v in request.items() if k not in ALIASES} == {
            k: v for k, v in generated.items() if k not in ALIASES
        }, f"{key} registers differently"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_only_difference_is_aliases_to_older_type_tokens(stack: str) -> None:
    _, ours, theirs = _both(stack)
    assert not any(request.get(k) for request in ours.values() for k in ALIASES)
    for (token, _), generated in theirs.items():
        for alias in generated.get("aliasSpecs", []):
            assert alias.get("type") not in (None, token), f"{token}: an alias to {alias}"
