"""Direct registration: the offline engine's resource registrations without the mock monitor's round trip.

Under the SDK's mock runtime each registration builds a protobuf request, hops to an executor thread, has
the mock monitor decode it, runs a second event loop there to encode the mocks' answer, and decodes that
again before the resource's outputs resolve: half of a render's CPU time, none of it observable by the
program. Here a registration keeps every step whose result the program or the render can see, done by the
SDK's own functions — `serialize_property` (input types, Outputs, name translation), `transfer_properties`,
`translate_output_properties`, `resolve_properties` — and hands the mocks the same Python values the
monitor's decoding would: numbers as floats, properties that serialize to None left out. A plain property
(no Output, resource or asset anywhere in it) is decoded, and later copied as its resolved output, in one
synchronous walk instead of the SDK's coroutine per node, which returns the same tree for such a value;
`test_direct_registration.py` holds both walks to the SDK's functions on generated values.

Anything off that common path takes the SDK's own path: remote components, package references, transforms,
and values the wire format encodes specially (secrets, assets, archives, resource references, unknowns
during a dry run). `tests/foundation/test_direct_registration.py` proves both paths register the same
resources with the same inputs, URNs and parents, and resolve the same stack outputs.
`MODELSTACK_SDK_REGISTRATION=1` takes the SDK's path for every resource (to rule this module out).
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pulumi.resource as sdk_resource
from pulumi import _types
from pulumi.output import Output, _OutputData
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs
from pulumi.runtime.resource import resource_output

from modelstack.engine.mocks import RecordingMocks, RecordingMonitor

STACK_TYPE = "pulumi:pulumi:Stack"
SDK_REGISTRATION_ENV = "MODELSTACK_SDK_REGISTRATION"
_UNKNOWN = rpc.UNKNOWN
_SIG = rpc._special_sig_key
"""The key of the marker under which the wire format encodes secrets, assets, archives, resource references
and output values."""


@contextmanager
def sdk_registration() -> Iterator[None]:
    """Every registration within takes the SDK's own path (`SDK_REGISTRATION_ENV`): what the tests and
    floors compare direct registration with, or whose requests they read."""
    saved = os.environ.get(SDK_REGISTRATION_ENV)
    os.environ[SDK_REGISTRATION_ENV] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(SDK_REGISTRATION_ENV, None)
        else:
            os.environ[SDK_REGISTRATION_ENV] = saved


class _OffThePathError(Exception):
    """A value the wire format encodes specially: the SDK's own encoding and decoding must handle it."""


@dataclass
class Counts:
    direct: int = 0
    sdk: int = 0
    """Registrations that took the SDK's path (a test keeps the synthetic catalog's at zero)."""


def _as_decoded(value: Any, dry_run: bool) -> Any:
    """`value` (what `serialize_property` returned) as the mock monitor's `deserialize_properties` of its
    protobuf encoding returns it: a Struct holds every number as a double and decoding drops null fields."""
    cls = value.__class__
    if value is None or cls is bool:
        return value
    if cls is str:
        if value == _UNKNOWN:
            if dry_run:
                raise _OffThePathError
            return None
        return value
    if cls is int or cls is float:
        return float(value)
    if cls is dict:
        if _SIG in value:
            raise _OffThePathError
        decoded = {}
        for key, item in value.items():
            kept = _as_decoded(item, dry_run)
            if kept is not None:
                decoded[key] = kept
        return decoded
    if cls is list or cls is tuple:
        return [_as_decoded(item, dry_run) for item in value]
    raise _OffThePathError


def _decoded(serialized: dict[str, Any], dry_run: bool) -> dict[str, Any]:
    """The properties as the monitor would decode them; off the common path, by the SDK's own round trip."""

    try:
        decoded: dict[str, Any] = _as_decoded(serialized, dry_run)
        return decoded
    except _OffThePathError:
        from google.protobuf import struct_pb2  # type: ignore[import-untyped]  # no stubs; pulumi's own dependency

        struct = struct_pb2.Struct()
        for key, item in serialized.items():
            struct[key] = item
        return dict(rpc.deserialize_properties(struct))


_BASE_TRANSLATE_INPUT = sdk_resource.Resource.translate_input_property
_BASE_TRANSLATE_OUTPUT = sdk_resource.Resource.translate_output_property


async def _serialized_decoded(
    props: Mapping[str, Any],
    res: Any,
    translate: Callable[[str], str] | None,
    typ: type | None,
    dry_run: bool,
) -> dict[str, Any]:
    """`_decoded(await _serialized(...))`, with every plain property (mappings, lists and scalars, no
    Output, resource or asset in it) decoded in one synchronous walk.

    For a plain value `serialize_property` awaits a coroutine per node only to return the same tree (keys
    through the resource's name translation, the base class's being the identity; tuples as lists), so
    decoding the value itself gives the same result without the coroutines: a sixth of a render's time.
    Any other property, and every property of a typed or translating resource, takes `_serialized`.
    """
    if typ is not None or type(res).translate_input_property is not _BASE_TRANSLATE_INPUT:
        return _decoded(await _serialized(props, res, translate, typ), dry_run)
    decoded: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key in props:
        try:
            kept = _as_decoded(props[key], dry_run)
        except _OffThePathError:
            rest[key] = props[key]
            decoded[key] = None  # its place: the monitor's decoding keeps the request's order
            continue
        decoded[key] = kept
    if rest:
        for key, value in _decoded(await _serialized(rest, res, translate, None), dry_run).items():
            decoded[key] = value
    return {key: value for key, value in decoded.items() if value is not None}


def _is_plain(value: Any) -> bool:
    """Whether `value` is mappings with string keys, lists, tuples and scalars only: what a protobuf Struct
    holds as it is."""
    cls = value.__class__
    if value is None or cls in (str, bool, int, float):
        return True
    if cls is dict:
        return _SIG not in value and all(k.__class__ is str and _is_plain(v) for k, v in value.items())
    if cls is list or cls is tuple:
        return all(_is_plain(item) for item in value)
    return False


def _plain_copy(value: Any) -> Any:
    """`rpc.translate_output_properties` of a decoded value for an untyped property of a resource that
    does not translate names: the same tree, copied. Raises _OffThePathError at anything else (a secret)."""
    cls = value.__class__
    if cls is dict:
        if _SIG in value:
            raise _OffThePathError
        return {key: _plain_copy(item) for key, item in value.items()}
    if cls is list:
        return [_plain_copy(item) for item in value]
    return value


async def _serialized(
    props: Mapping[str, Any], res: Any, translate: Callable[[str], str] | None, typ: type | None
) -> dict[str, Any]:
    """`rpc.serialize_properties` without the protobuf Struct it builds: the same keys and values."""

    def no_type(key: str) -> type | None:
        return None

    get_type = no_type
    name = translate
    if typ is not None:
        py_to_pulumi = _types.input_type_py_to_pulumi_names(typ)
        types = _types.input_type_types(typ)

        def name(key: str) -> str:
            return py_to_pulumi.get(key) or key

        def get_type(key: str) -> type | None:
            return types.get(name(key))

    out: dict[str, Any] = {}
    for key in props:
        value = props[key]
        try:
            result = await rpc.serialize_property(value, [], key, res, translate, get_type(key))
        except (ValueError, AssertionError) as exc:
            raise type(exc)(
                f"While processing input: {key!r}, type {type(key)}, value {value!r}\n"
                f"{type(exc).__name__} has risen: {exc}"
            ) from exc
        if result is not None:
            out[name(key) if name is not None else key] = result
    return out


_PENDING: set[asyncio.Future[Any]] = set()
"""Registrations in flight: the event loop holds only weak references to its tasks."""


def _keep(future: asyncio.Future[Any]) -> None:
    _PENDING.add(future)
    future.add_done_callback(_PENDING.discard)


_RESOURCE_TYPES: dict[type, dict[str, type]] = {}


def _resource_types(cls: type) -> dict[str, type]:
    # The SDK recomputes a class's output types (`typing.get_type_hints` over its annotations) for every
    # resource it resolves: an eighth of a 1,000-model render, for an answer fixed by the class.
    types = _RESOURCE_TYPES.get(cls)
    if types is None:
        types = _RESOURCE_TYPES[cls] = _types.resource_types(cls)
    return types


def _untyped(typ: Any) -> bool:
    """A property type under which `translate_output_properties` converts nothing (None, Any, Optional[Any])."""
    return typ is None or _types.unwrap_optional_type(typ) is Any


def _resolve_outputs(
    res: Any,
    *,
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    resolvers: dict[str, Any],
    custom: bool,
    by_type: bool,
) -> None:
    """`rpc.resolve_outputs` on decoded values rather than Structs."""

    cls = type(res)
    types = _resource_types(cls)
    translate: Callable[[str], str] = res.translate_output_property
    translate_to_pass: Callable[[str], str] = res.translate_output_property
    if by_type:
        pulumi_to_py = _types.resource_pulumi_to_py_names(cls)

        def translate(prop: str) -> str:
            return pulumi_to_py.get(prop) or prop

        def translate_to_pass(prop: str) -> str:
            return prop

    properties: dict[str, Any] = {}
    plain_keys: set[str] = set()
    for key, value in outputs.items():
        py_key = translate(key)
        properties[py_key] = rpc.translate_output_properties(
            value, translate_to_pass, types.get(key), by_type, path=rpc._Path(py_key, resource=res._name)
        )
    if not settings.is_dry_run() or settings.is_legacy_apply_enabled():  # type: ignore[no-untyped-call]
        plain = not by_type and cls.translate_output_property is _BASE_TRANSLATE_OUTPUT
        for key, value in inputs.items():
            py_key = translate(key)
            if py_key in properties:
                continue
            if plain and _untyped(types.get(key)):
                try:
                    properties[py_key] = _plain_copy(value)
                    plain_keys.add(py_key)
                    continue
                except _OffThePathError:
                    pass
            properties[py_key] = rpc.translate_output_properties(
                value,
                translate_to_pass,
                types.get(key),
                by_type,
                path=rpc._Path(py_key, resource=res._name),
                return_none_on_dict_type_mismatch=True,
            )
    _resolve_properties(resolvers, properties, plain_keys, custom)


def _transfer_properties(res: Any, props: Any, custom: bool) -> dict[str, Any]:
    """`rpc.transfer_properties` with one future per property, as the SDK's own `resource_output` makes
    its outputs (`Output._from_data`), instead of four futures and a task that gathers them."""
    resolvers: dict[str, Any] = {}
    for name in props:
        if name == "urn" or (name == "id" and custom):
            continue  # resolved by `resource_output`
        future: asyncio.Future[_OutputData[Any]] = asyncio.Future()
        resolvers[name] = functools.partial(_resolve_property, res, future)
        res.__dict__[name] = Output._from_data(future)
    return resolvers


def _resolve_property(  # noqa: PLR0917 (the SDK's resolver signature, called positionally)
    res: Any,
    future: asyncio.Future[_OutputData[Any]],
    value: Any,
    is_known: bool,
    is_secret: bool,
    deps: Any,
    failed: Exception | None,
    plain: bool = False,
) -> None:
    """What the SDK's resolver gives the Output: the value with the resource added to its dependencies,
    or the failure. A plain value (`_plain_copy`'s) holds no Unknown, so the check of every node for
    one (`_OutputData.__post_init__`) is skipped for it: it could only find none."""
    if failed is not None:
        future.set_exception(failed)
        return
    resources = set(deps) if deps else set()
    resources.add(res)
    if plain:
        data: _OutputData[Any] = object.__new__(_OutputData)
        data.resources, data.value, data.is_known, data.is_secret = resources, value, is_known, is_secret
    else:
        data = _OutputData(resources=resources, value=value, is_known=is_known, is_secret=is_secret)
    future.set_result(data)


def _resolve_properties(
    resolvers: dict[str, Any], properties: dict[str, Any], plain_keys: set[str], custom: bool
) -> None:
    """`rpc.resolve_properties` with no property dependencies (the mocks report none), telling each
    resolver whether its value is plain."""
    dry_run = settings.is_dry_run()
    for key, value in properties.items():
        if key == "urn" or (key == "id" and custom):
            continue
        resolve = resolvers.get(key)
        if resolve is None:
            continue  # an output the program did not declare (the SDK leaves those alone too)
        if key in plain_keys:
            resolve(value, not dry_run or value is not None, False, None, None, plain=True)
            continue
        is_secret = rpc.is_rpc_secret(value)
        unwrapped = rpc.unwrap_rpc_secret(value)
        resolve(unwrapped, not dry_run or unwrapped is not None, is_secret, None, None)
    for key, resolve in resolvers.items():
        if key not in properties:
            resolve(None, not dry_run, False, None, None)


def _register(
    mocks: RecordingMocks, monitor: RecordingMonitor, sdk: Callable[..., None], counts: Counts
) -> Any:
    """A `register_resource` with the SDK's signature (pulumi/runtime/resource.py)."""

    def register_resource(  # noqa: PLR0917 (the SDK's signature, called positionally)
        res: Any,
        ty: str,
        name: str,
        custom: bool,
        remote: bool,
        new_dependency: Any,
        props: Any,
        opts: Any,
        typ: type | None = None,
        package_ref: Any = None,
    ) -> None:
        if remote or package_ref is not None or (opts is not None and opts.transforms):
            counts.sdk += 1
            sdk(res, ty, name, custom, remote, new_dependency, props, opts, typ, package_ref)
            return
        counts.direct += 1
        resolve_urn, res.__dict__["urn"] = resource_output(res)
        resolve_id = None
        if custom:
            resolve_id, res.__dict__["id"] = resource_output(res)
        resolvers = _transfer_properties(res, props, custom)

        async def do_register() -> None:
            try:
                dry_run = settings.is_dry_run()
                translate = None if typ is not None else res.translate_input_property
                inputs = await _serialized_decoded(props, res, translate, typ, dry_run)
                # Explicit dependencies only order registrations with a real engine; what is recorded
                # does not depend on them.
                parent_urn: str | None = ""
                if opts is not None and opts.parent is not None:
                    parent_urn = await opts.parent.urn.future()
                elif ty != STACK_TYPE:
                    root = settings.get_root_resource()
                    if root is not None:
                        parent_urn = await root.urn.future()
                parent_urn = parent_urn or ""
                urn = monitor.make_urn(parent_urn, ty, name)
                id_: str | None = None
                outputs: dict[str, Any] = {}
                if ty != STACK_TYPE:
                    mocks.positions.current = (urn, parent_urn)
                    args = MockResourceArgs(
                        typ=ty,
                        name=name,
                        inputs=inputs,
                        provider="",
                        resource_id=(opts.import_ if opts is not None else None) or "",
                        custom=custom,
                    )
                    id_, state = mocks.new_resource(args)
                    monitor.resources[urn] = MockMonitor.ResourceRegistration(urn, id_ or "", state)
                    if state:
                        outputs = _decoded(await _serialized(state, None, None, None), dry_run)
            except Exception as exn:
                rpc.resolve_outputs_due_to_exception(resolvers, exn)
                resolve_urn(None, True, False, exn)
                if resolve_id is not None:
                    resolve_id(None, True, False, exn)
                raise
            resolve_urn(urn, True, False, None)
            if resolve_id is not None:
                resolve_id(id_, bool(id_), False, None)
            _resolve_outputs(
                res,
                inputs=inputs,
                outputs=outputs,
                resolvers=resolvers,
                custom=custom,
                by_type=typ is not None,
            )

        _keep(asyncio.ensure_future(settings._get_rpc_manager().do_rpc("register resource", do_register)()))

    return register_resource


def _register_outputs(res: Any, outputs: Any) -> None:
    """`register_resource_outputs` without the RPC the mock monitor answers with nothing: the outputs are
    still serialized, so an Output that fails still fails the run."""

    async def do_register_outputs() -> None:
        await res.urn.future()
        # A plain value serializes as itself and cannot fail: only the rest is serialized.
        rest = {key: value for key, value in (outputs or {}).items() if not _is_plain(value)}
        await rpc.serialize_properties(rest, {})

    _keep(
        asyncio.ensure_future(
            settings._get_rpc_manager().do_rpc("register resource outputs", do_register_outputs)()
        )
    )


@contextmanager
def direct_registration(mocks: RecordingMocks) -> Iterator[Counts]:
    """Register resources directly while the block runs (unless MODELSTACK_SDK_REGISTRATION=1)."""

    counts = Counts()
    monitor = settings.get_monitor()
    if os.environ.get(SDK_REGISTRATION_ENV) == "1" or not isinstance(monitor, RecordingMonitor):
        yield counts
        return
    # pulumi/resource.py calls both by their module-level names.
    saved = {name: getattr(sdk_resource, name) for name in ("register_resource", "register_resource_outputs")}
    setattr(sdk_resource, "register_resource", _register(mocks, monitor, saved["register_resource"], counts))  # noqa: B010
    setattr(sdk_resource, "register_resource_outputs", _register_outputs)  # noqa: B010
    try:
        yield counts
    finally:
        for name, function in saved.items():
            setattr(sdk_resource, name, function)
