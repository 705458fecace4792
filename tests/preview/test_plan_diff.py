"""What a plan compares: lists item by item by their identity, every other list aligned like a text diff,
scalars whole. A change must show at the item it touches, never as a shifted index or a whole list."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelstack.engine.diff import Change, ModelChange, Status, describe_weights, diff_values, plan


def destination(subset: str, weight: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"destination": {"host": "llm-chat.ml.svc.cluster.local", "subset": subset}}
    if weight is not None:
        item["weight"] = weight
    return item


def virtual_service(*routes: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"http": [{"name": "weighted", "route": list(routes)}]}}


def test_promoting_a_canary_from_0_to_10_shows_the_added_destination_and_the_moved_weight() -> None:
    before = virtual_service(destination("v1"))
    after = virtual_service(destination("v1", 90), destination("v2", 10))
    assert diff_values(before, after) == [
        Change("spec.http[weighted].route[v1].weight", None, 90, Status.ADDED),
        Change("spec.http[weighted].route[v2]", None, destination("v2", 10), Status.ADDED),
    ]


def test_promoting_a_canary_to_100_shows_the_removed_destination() -> None:
    before = virtual_service(destination("v1", 10), destination("v2", 90))
    after = virtual_service(destination("v2"))
    assert diff_values(before, after) == [
        Change("spec.http[weighted].route[v1]", destination("v1", 10), None, Status.REMOVED),
        Change("spec.http[weighted].route[v2].weight", 90, None, Status.REMOVED),
    ]


@pytest.mark.parametrize(
    ("items", "edited", "path"),
    [
        pytest.param(
            [{"name": "server", "image": "a"}, {"name": "proxy", "image": "p"}],
            [
                {"name": "proxy", "image": "p"},
                {"name": "server", "image": "b"},
                {"name": "init", "image": "i"},
            ],
            "x[server].image",
            id="containers-by-name",
        ),
        pytest.param(
            [{"alert": "ModelErrorRateHigh", "expr": "a > 1"}, {"alert": "ModelP99LatencyHigh", "expr": "b"}],
            [{"alert": "ModelP99LatencyHigh", "expr": "b"}, {"alert": "ModelErrorRateHigh", "expr": "a > 2"}],
            "x[ModelErrorRateHigh].expr",
            id="rules-by-alert",
        ),
        pytest.param(
            [{"key": "nvidia.com/gpu", "effect": "NoSchedule", "operator": "Exists"}],
            [
                {"key": "pool", "effect": "NoSchedule", "operator": "Equal", "value": "a"},
                {"key": "nvidia.com/gpu", "effect": "NoSchedule", "operator": "Equal"},
            ],
            "x[nvidia.com/gpu:NoSchedule].operator",
            id="tolerations-by-key-and-effect",
        ),
        pytest.param(
            [{"name": "w", "mountPath": "/models", "subPath": "a"}, {"name": "w", "mountPath": "/cache"}],
            [{"name": "w", "mountPath": "/cache"}, {"name": "w", "mountPath": "/models", "subPath": "b"}],
            "x[/models].subPath",
            id="mounts-of-one-volume-by-path",
        ),
        pytest.param(
            [destination("v1", 50), destination("v2", 50)],
            [destination("v2", 40), destination("v1", 60)],
            "x[v1].weight",
            id="destinations-by-subset",
        ),
        pytest.param(
            [{"alert": "High", "expr": "a > 1", "labels": {"version": v}} for v in ("v1", "v2")],
            [
                {"alert": "High", "expr": f"a > {n}", "labels": {"version": v}}
                for v, n in (("v1", 1), ("v2", 2))
            ],
            "x[High@v2].expr",
            id="per-version-alerts-by-alert-and-version",
        ),
    ],
)
def test_lists_with_an_identity_are_compared_item_by_item(
    items: list[dict[str, Any]], edited: list[dict[str, Any]], path: str
) -> None:
    changes = {c.path: c for c in diff_values({"x": items}, {"x": edited})}
    assert path in changes
    assert all(c.path.startswith("x[") or c.path == "x.order" for c in changes.values())


def test_a_new_order_of_identified_items_is_a_change_of_its_own() -> None:
    """Istio evaluates routes top-down, so moving one is a change even when no route differs."""
    routes = [{"name": "pin-v2", "match": [{"x": 1}]}, {"name": "weighted"}]
    assert diff_values({"http": routes}, {"http": routes[::-1]}) == [
        Change("http.order", ["pin-v2", "weighted"], ["weighted", "pin-v2"])
    ]


def test_an_argument_inserted_is_one_change_not_a_shift_of_every_later_one() -> None:
    before = ["--model", "/models/chat", "--max-model-len", "8192"]
    after = ["--model", "/models/chat", "--enforce-eager", "--max-model-len", "8192"]
    assert diff_values({"args": before}, {"args": after}) == [
        Change("args[2]", None, "--enforce-eager", Status.ADDED)
    ]


def test_scalars_are_kept_whole() -> None:
    long_value = "x" * 500
    assert diff_values({"a": long_value}, {"a": long_value + "y"}) == [
        Change("a", long_value, long_value + "y")
    ]


def test_a_weight_change_reads_as_the_split_before_and_after() -> None:
    change = ModelChange("llm-chat", {"v1": 90, "v2": 10}, {"v1": 80, "v2": 20})
    assert change.line == "llm-chat: v1 90 → 80, v2 10 → 20"


def test_new_and_retired_versions_read_in_the_split() -> None:
    assert describe_weights({"v1": 100, "v2": 0}, {"v1": 100}) == "v2 0 → retired"
    assert describe_weights({"v1": 100}, {"v1": 100, "v3": 0}) == "v3 new → 0"


def test_the_plan_names_each_model_whose_split_or_objects_change() -> None:
    labelled = {"kind": "Deployment", "metadata": {"labels": {"app": "embedder"}}, "spec": {"replicas": 1}}
    edited = {**labelled, "spec": {"replicas": 2}}
    result = plan(
        {"a.yaml": labelled},
        {"a.yaml": edited},
        {"chat": {"v1": 90, "v2": 10}, "embedder": {"v1": 100}},
        {"chat": {"v1": 80, "v2": 20}, "embedder": {"v1": 100}},
    )
    assert [m.line for m in result.models] == [
        "chat: v1 90 → 80, v2 10 → 20",
        "embedder: traffic unchanged",
    ]
    assert [s.model for s in result.steps] == ["embedder"]


# --- properties -------------------------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_a_value_compared_with_itself_has_no_changes(value: Any) -> None:
    assert diff_values(value, value) == []


@given(json_values, json_values)
def test_two_values_differ_exactly_when_the_plan_has_changes(a: Any, b: Any) -> None:
    assert (diff_values(a, b) == []) == (a == b and type(a) is type(b))


@given(json_values, json_values)
def test_every_change_is_a_real_difference(a: Any, b: Any) -> None:
    for change in diff_values(a, b):
        assert (
            change.status is not Status.CHANGED
            or change.before != change.after
            or type(change.before) is not type(change.after)
        )


named_items = st.lists(
    st.fixed_dictionaries({"name": st.text("abcdef", min_size=1, max_size=4), "value": st.integers(0, 9)}),
    min_size=1,
    max_size=8,
    unique_by=lambda item: item["name"],
)


@given(named_items, st.data())
def test_one_item_edited_in_a_named_list_is_one_change_at_its_name(items: list[dict[str, Any]], data) -> None:
    index = data.draw(st.integers(0, len(items) - 1))
    new_value = data.draw(st.integers(10, 20))
    edited = [dict(item) for item in items]
    edited[index]["value"] = new_value
    name = items[index]["name"]
    assert diff_values({"env": items}, {"env": edited}) == [
        Change(f"env[{name}].value", items[index]["value"], new_value)
    ]


@given(named_items, st.data())
def test_an_item_added_to_a_named_list_is_one_change_wherever_it_lands(
    items: list[dict[str, Any]], data
) -> None:
    new = {"name": "zzzzz", "value": 1}
    at = data.draw(st.integers(0, len(items)))
    assert diff_values({"env": items}, {"env": [*items[:at], new, *items[at:]]}) == [
        Change("env[zzzzz]", None, new, Status.ADDED)
    ]


@given(st.lists(st.text(max_size=4), unique=True, max_size=8), st.data())
def test_an_item_inserted_into_a_plain_list_is_one_change_at_its_new_index(items: list[str], data) -> None:
    at = data.draw(st.integers(0, len(items)))
    new = "!new!"
    assert diff_values([*items], [*items[:at], new, *items[at:]]) == [
        Change(f"[{at}]", None, new, Status.ADDED)
    ]
