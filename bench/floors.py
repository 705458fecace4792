"""The reference floors a render is compared with, each run as its own process by `bench/run.py`.

    python bench/floors.py prepare PROJECT MANIFESTS.json  # render once, keep the objects and the tree
    python bench/floors.py flat MANIFESTS.json             # the flat SDK floor
    python bench/floors.py structured MANIFESTS.json       # the structured SDK floor
    python bench/floors.py serialize MANIFESTS.json OUT    # the serialization floor

flat: the very objects of a render declared as plain pulumi-kubernetes resources in one loop, under the
same mock runtime as `modelstack render`, with no components, no validation and no YAML writing. This is
what the Pulumi SDK costs for these objects through pulumi-kubernetes' generated classes; the program
declares them as `KubernetesObject`s instead (the same requests, without the classes' typed walk), so a
render can be cheaper than it (docs/performance.md, "2026-12-03, night").

structured: the render's whole resource tree replayed with no program logic: the same objects, each under
an empty ComponentResource with the program's type token and name, the same parents and dependencies.
What the SDK costs for the objects *and* the component structure the style guide asks for (one
ComponentResource per concept); the difference to the render is the program's own work.

serialize: the same objects written one file each with the fastest YAML dumper available, with nothing
else: the render's own writer, which spells libyaml's CSafeDumper output faster. This is what writing the
render costs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# API group -> pulumi_kubernetes module; other groups (Istio, Karpenter, prometheus-operator) are CRDs.
BUILTIN_GROUPS = {
    "": "core",
    "apps": "apps",
    "batch": "batch",
    "policy": "policy",
    "autoscaling": "autoscaling",
    "networking.k8s.io": "networking",
    "rbac.authorization.k8s.io": "rbac",
    "scheduling.k8s.io": "scheduling",
    "storage.k8s.io": "storage",
}


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def _resource_class(api_version: str, kind: str) -> Any:
    """The pulumi-kubernetes class of a built-in kind, or None for a custom resource."""
    import pulumi_kubernetes as k8s

    group, _, version = api_version.rpartition("/")
    module_name = BUILTIN_GROUPS.get(group)
    if module_name is None:
        return None
    module = getattr(getattr(k8s, module_name), version)
    return getattr(module, kind)


def declare_with_generated_class(
    name: str, manifest: dict[str, Any], opts: Any, classes: dict[tuple[str, str], Any]
) -> Any:
    """One manifest as the pulumi-kubernetes resource of its kind (a CustomResource for a CRD's kind)."""
    import pulumi_kubernetes as k8s

    api_version, kind = manifest["apiVersion"], manifest["kind"]
    fields = {_snake(k): v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    if (api_version, kind) not in classes:
        classes[api_version, kind] = _resource_class(api_version, kind)
    cls = classes[api_version, kind]
    if cls is None:
        return k8s.apiextensions.CustomResource(name, api_version=api_version, kind=kind, opts=opts, **fields)
    return cls(name, opts=opts, **fields)


def declare_flat(manifests: list[dict[str, Any]]) -> None:
    """Declare every manifest as one resource of the stack's provider, in one loop."""
    import pulumi
    import pulumi_kubernetes as k8s

    provider = k8s.Provider("kubernetes", render_yaml_to_directory="rendered")
    opts = pulumi.ResourceOptions(provider=provider)
    classes: dict[tuple[str, str], Any] = {}
    for manifest in manifests:
        metadata = manifest["metadata"]
        name = f"{manifest['kind']}-{metadata.get('namespace', '')}-{metadata['name']}"
        declare_with_generated_class(name, manifest, opts, classes)


def declare_structured(tree: list[dict[str, Any]]) -> None:
    """Declare the render's resource tree as it was registered: the same ComponentResources (empty, but
    with the program's type tokens and names), each object under its component, the same dependencies."""
    import pulumi
    import pulumi_kubernetes as k8s

    created: dict[str, pulumi.Resource] = {}
    provider: k8s.Provider | None = None
    classes: dict[tuple[str, str], Any] = {}
    for entry in tree:
        opts = pulumi.ResourceOptions(
            parent=created.get(entry["parent"]),
            depends_on=[created[urn] for urn in entry["deps"] if urn in created] or None,
        )
        kind_of = entry["type"]
        if kind_of == "pulumi:providers:kubernetes":
            provider = k8s.Provider(entry["name"], render_yaml_to_directory="rendered", opts=opts)
            created[entry["urn"]] = provider
        elif entry["body"] is not None:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=provider))
            created[entry["urn"]] = declare_with_generated_class(entry["name"], entry["body"], opts, classes)
        elif not entry["custom"]:
            component = pulumi.ComponentResource(kind_of, entry["name"], None, opts)
            component.register_outputs({})
            created[entry["urn"]] = component


def registrations_under_mocks(declare: Callable[[], None]) -> int:
    """Run `declare` as a program under the same runtime settings as `modelstack render` (garbage
    collection and direct registration included, MODELSTACK_SDK_REGISTRATION=1 honoured), so that a ratio
    to the render measures the program, not a setting."""
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from modelstack.engine.direct import direct_registration
    from modelstack.engine.mocks import install, lean_runtime

    with lean_runtime():
        mocks = install("modelstack", "bench")
        with direct_registration(mocks):
            _sync_await(run_pulumi_func(declare))
    return len(mocks.registered)


def structured_floor(tree: list[dict[str, Any]]) -> int:
    return registrations_under_mocks(lambda: declare_structured(tree))


def flat_floor(manifests: list[dict[str, Any]]) -> int:
    return registrations_under_mocks(lambda: declare_flat(manifests))


def serialization_floor(manifests: list[dict[str, Any]], out: Path) -> int:
    # The fastest writer available for manifests: the render's own (libyaml's output byte for byte).
    from modelstack.engine.manifest_yaml import dump

    for i, manifest in enumerate(manifests):
        path = out / f"{i:06d}.yaml"
        with path.open("w", encoding="utf-8") as stream:
            stream.write(dump(manifest))
    return len(manifests)


def prepare(project: Path, manifests_path: Path) -> None:
    """Render `project` once and keep what the floors declare: every object (apiVersion, kind, metadata,
    spec, ...) as JSON, and next to it (`*.tree.json`) every registration in order with its parent and
    dependencies. Prints the number of objects and of Pulumi resources (components included)."""
    from modelstack.engine.render import normalize, run_program

    with _recording_registrations() as registrations:
        render = run_program(project, "bench")
    bodies = [m.body for m in sorted(render.manifests, key=lambda m: m.key)]
    manifests_path.write_text(json.dumps(bodies), encoding="utf-8")
    assert len(registrations) == len(render.resources)
    tree = [
        {**registration, "body": normalize(inputs) if "kind" in inputs else None}
        for registration, inputs in registrations
    ]
    tree_path(manifests_path).write_text(json.dumps(tree), encoding="utf-8")
    print(json.dumps({"objects": len(bodies), "resources": len(render.resources)}))


def tree_path(manifests_path: Path) -> Path:
    return manifests_path.with_suffix(".tree.json")


@contextmanager
def _recording_registrations() -> Iterator[list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Every RegisterResource the mock monitor answers, in order (a parent or dependency comes first:
    a request names it by the URN only its answer gave): URN, type, name, parent URN, dependency URNs,
    and the inputs (those of a Kubernetes object are its manifest)."""
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor

    recorded: list[tuple[dict[str, Any], dict[str, Any]]] = []
    original = MockMonitor.RegisterResource

    def register(self: Any, request: Any) -> Any:
        response = original(self, request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            inputs = (
                rpc.deserialize_properties(request.object) if request.type.startswith("kubernetes:") else {}
            )
            registration = {
                "urn": response.urn,
                "type": request.type,
                "name": request.name,
                "custom": bool(request.custom),
                "parent": request.parent,
                "deps": list(request.dependencies),
            }
            recorded.append((registration, inputs))
        return response

    # The requests' dependencies exist only on the SDK's path (direct registration drops them).
    from modelstack.engine.direct import sdk_registration

    MockMonitor.RegisterResource = register  # type: ignore[method-assign]
    try:
        with sdk_registration():
            yield recorded
    finally:
        MockMonitor.RegisterResource = original  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    from modelstack.engine.mocks import one_shot_process

    one_shot_process()  # as `modelstack` does: the same garbage-collection policy for the floor
    mode, *args = argv
    if mode == "prepare":
        prepare(Path(args[0]), Path(args[1]))
        return
    manifests_path, *rest = args
    if mode == "structured":
        tree = json.loads(tree_path(Path(manifests_path)).read_text(encoding="utf-8"))
        print(f"{mode}: {structured_floor(tree)}")
        return
    manifests = json.loads(Path(manifests_path).read_text(encoding="utf-8"))
    if mode == "flat":
        count = flat_floor(manifests)
    elif mode == "serialize":
        out = Path(rest[0])
        out.mkdir(parents=True, exist_ok=True)
        count = serialization_floor(manifests, out)
    else:
        sys.exit(f"unknown floor {mode!r}: use flat, structured or serialize")
    print(f"{mode}: {count}")


if __name__ == "__main__":
    main(sys.argv[1:])
