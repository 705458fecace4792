"""Direct registration (modelstack/engine/direct.py) records exactly what the SDK's mock monitor records.

The oracle is the SDK itself: the same program run with MODELSTACK_SDK_REGISTRATION=1 registers through
pulumi 3.272's own `register_resource` and `MockMonitor.RegisterResource` (protobuf round trip and all).
Both runs must register the same resources — type, name, URN, parent, inputs as the mocks saw them — and
resolve the same stack outputs and versions lock. Registration order is the event loop's and not part of
what either path promises (every consumer sorts), so resources are compared as sorted lists, and neither is
the order of an object's keys (the monitor decodes a protobuf map).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.synthetic import STACK, model_body, model_name, synthetic_stack_config, write_project
from modelstack.engine import direct
from modelstack.engine.render import Render, run_program
from tests.git_project import clone_of_working_tree
from tests.sharding.layout import BASE, SHARDS, write_family

ROOT = Path(__file__).resolve().parents[2]


def _canonical(inputs: dict[str, Any]) -> str:
    """The inputs as data: keys sorted (a protobuf map decodes in no promised order), 1.0 still not 1."""
    return json.dumps(inputs, sort_keys=True, default=repr)


def _recorded(render: Render) -> dict[str, Any]:
    resources = sorted((r.urn, r.parent, r.type, r.name, _canonical(r.inputs)) for r in render.resources)
    return {"resources": resources, "outputs": render.outputs, "lock": render.lock}


def _both(root: Path, stack: str) -> tuple[dict[str, Any], dict[str, Any]]:
    with direct.sdk_registration():
        sdk = run_program(root, stack)
    return _recorded(sdk), _recorded(run_program(root, stack))


def _assert_same(sdk: dict[str, Any], mine: dict[str, Any]) -> None:
    assert len(mine["resources"]) == len(sdk["resources"])
    by_urn = {r[0]: r for r in sdk["resources"]}
    for resource in mine["resources"]:
        assert resource == by_urn.get(resource[0]), f"{resource[0]} registered differently"
    assert mine == sdk


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_repository_stack_registers_what_the_sdk_registers(stack: str) -> None:
    _assert_same(*_both(ROOT, stack))


def test_a_sharded_family_registers_what_the_sdk_registers(tmp_path: Path) -> None:
    """The base exports through the root stack; the shards read it through a StackReference."""
    root = clone_of_working_tree(tmp_path / "project").root
    write_family(root)
    for stack in (BASE, *SHARDS):
        _assert_same(*_both(root, stack))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    indices=st.sets(st.integers(min_value=0, max_value=59), min_size=1, max_size=4),
    build_images=st.booleans(),
)
def test_a_synthetic_catalog_registers_what_the_sdk_registers(
    indices: set[int], build_images: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Models drawn from every archetype (LLM, MIG, CPU; smoke tests every 25th, gateways every 5th)."""
    catalog = {
        "apiVersion": "modelstack/v1",
        "models": {model_name(i): model_body(i) for i in sorted(indices)},
    }
    config = synthetic_stack_config(len(indices))
    config["config"]["modelstack:buildImages"] = build_images
    root = write_project(tmp_path_factory.mktemp("synthetic"), catalog, config)
    _assert_same(*_both(root, STACK))


def test_every_registration_of_a_synthetic_catalog_takes_the_direct_path(tmp_path: Path) -> None:
    """A newer SDK that sent every resource down the slow path would still be correct, but not fast."""
    root = write_project(
        tmp_path,
        {"apiVersion": "modelstack/v1", "models": {model_name(i): model_body(i) for i in range(3)}},
        synthetic_stack_config(3),
    )
    seen: list[direct.Counts] = []
    real = direct.direct_registration

    @contextlib.contextmanager
    def spying(mocks: Any) -> Iterator[direct.Counts]:
        with real(mocks) as counts:
            seen.append(counts)
            yield counts

    direct.direct_registration = spying  # type: ignore[assignment]
    try:
        render = run_program(root, STACK)
    finally:
        direct.direct_registration = real  # type: ignore[assignment]
    assert seen[0].direct == len(render.resources)
    assert seen[0].sdk == 0


@pytest.mark.parametrize(
    ("value", "decoded"),
    [
        (3, 3.0),
        (True, True),
        ({"a": None, "b": [None, 1]}, {"b": [None, 1.0]}),
        ((1, "x"), [1.0, "x"]),
        ({"nested": {"n": 0}}, {"nested": {"n": 0.0}}),
    ],
)
def test_decoding_matches_the_protobuf_round_trip(value: Any, decoded: Any) -> None:
    from google.protobuf import struct_pb2
    from pulumi.runtime import rpc

    struct = struct_pb2.Struct()
    struct["v"] = value
    assert rpc.deserialize_properties(struct) == {"v": decoded}
    assert direct._decoded({"v": value}, dry_run=False) == {"v": decoded}


def test_a_secret_takes_the_sdks_own_decoding() -> None:
    from pulumi.runtime import rpc

    secret = {rpc._special_sig_key: rpc._special_secret_sig, "value": "s3cr3t"}
    assert direct._decoded({"token": secret}, dry_run=False) == {"token": rpc.wrap_rpc_secret("s3cr3t")}


# Plain property values: what components pass (mappings, lists, tuples and scalars, no Output in them),
# with the unknown sentinel the wire format gives a special meaning.
_PLAIN_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.just("04da6b54-80e4-46f7-96ec-b56ff0331ba9"),
)
_PLAIN_VALUES = st.recursive(
    _PLAIN_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=6), children, max_size=3),
    ),
    max_leaves=20,
)


def _awaited(awaitable: Any) -> Any:
    """Run one coroutine on a loop of its own: `asyncio.run` would leave the thread without the current
    event loop the SDK's synchronous entry points (and so the later tests in this process) ask for."""
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(awaitable)
    finally:
        loop.close()


def _sdk_round_trip(props: dict[str, Any]) -> dict[str, Any]:
    """What the mock monitor's mocks receive on the SDK's path: `serialize_properties`, then the decoding
    of the protobuf Struct it built."""

    from pulumi.runtime import rpc

    struct = _awaited(rpc.serialize_properties(props, {}))
    return dict(rpc.deserialize_properties(struct))


@settings(max_examples=300, deadline=None)
@given(
    props=st.dictionaries(st.sampled_from(["apiVersion", "kind", "metadata", "spec", "data"]), _PLAIN_VALUES)
)
def test_plain_properties_decode_as_the_protobuf_round_trip_decodes_them(props: dict[str, Any]) -> None:

    from components.kubernetes_object import KubernetesObject

    resource = object.__new__(KubernetesObject)  # only its class's name translation is read
    direct_inputs = _awaited(
        direct._serialized_decoded(props, resource, resource.translate_input_property, None, dry_run=False)
    )

    assert direct_inputs == _sdk_round_trip(props)
    assert list(direct_inputs) == [key for key in props if key in direct_inputs]


@settings(max_examples=300, deadline=None)
@given(value=_PLAIN_VALUES)
def test_a_plain_output_is_copied_as_translate_output_properties_translates_it(value: Any) -> None:
    from pulumi.runtime import rpc

    decoded = _sdk_round_trip({"v": value}).get("v")
    expected = rpc.translate_output_properties(
        decoded, lambda name: name, Any, False, return_none_on_dict_type_mismatch=True
    )
    copied = direct._plain_copy(decoded)

    assert copied == expected
    if isinstance(decoded, (dict, list)):
        assert copied is not decoded  # the program's Output never shares the mocks' record


def test_a_secret_output_is_left_to_translate_output_properties() -> None:
    from pulumi.runtime import rpc

    with pytest.raises(direct._OffThePathError):
        direct._plain_copy({"token": rpc.wrap_rpc_secret("s3cr3t")})


@settings(max_examples=200, deadline=None)
@given(value=_PLAIN_VALUES)
def test_a_value_called_plain_serializes_to_itself(value: Any) -> None:
    """Why registering a component's outputs skips plain values: the SDK's serialization of one is the
    value itself (tuples as lists), so there is nothing to await and nothing that could fail."""

    from pulumi.runtime import rpc

    assert direct._is_plain(value)
    serialized = _awaited(rpc.serialize_property(value, [], "v"))
    assert json.dumps(serialized) == json.dumps(value)


def test_outputs_holding_an_output_or_an_object_are_not_plain() -> None:
    import pulumi

    output = object.__new__(pulumi.Output)  # no event loop needed: only its class is looked at
    assert not direct._is_plain({"a": [output]})
    assert not direct._is_plain({"a": object()})
    assert not direct._is_plain({1: "x"})
