"""Parsing the catalog entry by entry (`load_catalog_yaml`, the offline engine's warm path) gives exactly
what parsing it whole gives: the same data in the same order, every position, the same errors, cold and
warm, after an edit, and after entries moved; and it refuses nothing the whole-file parse accepts."""

from __future__ import annotations

import marshal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.catalog.entries import load_catalog_yaml
from components.catalog.errors import CatalogError
from components.catalog.source import MAX_DEPTH, load_yaml


class Memo:
    """The render cache's round trip (marshal), in memory."""

    def __init__(self) -> None:
        self.kept: bytes | None = None
        self.stores = 0

    def load(self) -> dict[str, Any]:
        return marshal.loads(self.kept) if self.kept is not None else {}

    def store(self, entries: dict[str, Any]) -> None:
        self.stores += 1
        self.kept = marshal.dumps(entries)


def outcome(load: Any) -> Any:
    try:
        data, source = load()
    except CatalogError as exc:
        return ("error", [(p.file, p.line, p.column, p.path, p.message) for p in exc.problems])
    return ("ok", repr(data), dict(source.values), dict(source.keys), set(source.scalars))


def both(path: Path, text: str, memo: Memo) -> tuple[Any, Any]:
    path.write_text(text, encoding="utf-8")
    return outcome(lambda: load_yaml(path, "models.yaml")), outcome(
        lambda: load_catalog_yaml(path, "models.yaml", memo)
    )


scalars = st.one_of(
    st.integers(-5, 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.none(),
    st.sampled_from(
        ["yes", "no", "on", "0x1F", "1e3", "~", "null", "12:30", "2026-12-02", "a: b", "#x", "- y"]
    ),
    st.text(st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), max_size=12),
    st.just("two\nlines\n"),
)
bodies = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text("abcdefgh", min_size=1, max_size=6), children, max_size=3)
    ),
    max_leaves=12,
)
names = st.text("abcdefghij-0123456789", min_size=1, max_size=10).filter(lambda s: s[0].isalpha())


BENIGN = [
    "",
    "# a comment",
    "  # indented comment",
    "    ",
    "      # deep comment",
    "    deep: &b [1, 2]",
    "    again: *b",
    "    dup: 1",
    "    dup: 2",
    "    text: |",
    "      block",
    "    flow: {a: 1,",
    "      b: 2}",
]
HOSTILE = [
    "  extra: 1",
    "  - item",
    "other: 2",
    "---",
    "...",
    "\tx: 1",
    "  &a anchored: {k: 1}",
    "  aliased: *a",
    "  dup: 1",
    "  'quoted': 3",
    "  multi: 'one",
    "  two'",
    "  flow: [1,",
    "  2]",
    "  tagged: !!str 1",
    "  ? complex",
    "  : value",
    "  <<: {m: 1}",
    "  text: |",
    "  block",
    "%YAML 1.1",
]


@st.composite
def catalog_texts(draw: st.DrawFn) -> str:
    models = draw(st.dictionaries(names, bodies, min_size=1, max_size=5))
    text = yaml.safe_dump(
        {"apiVersion": "modelstack/v1", "models": models},
        sort_keys=False,
        default_flow_style=draw(st.sampled_from([False, None])),
        indent=draw(st.sampled_from([2, 4])),
        width=draw(st.sampled_from([20, 80, 1000])),
        allow_unicode=draw(st.booleans()),
    )
    lines = text.split("\n")
    # Lines an entry can hold (the split still applies), then lines that make it give way to the
    # whole-file parse; each example mixes some of both, often none of the second kind.
    for pool, count in ((BENIGN, st.integers(0, 3)), (HOSTILE, st.sampled_from([0, 0, 0, 1, 2]))):
        for _ in range(draw(count)):
            lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(pool)))
    text = "\n".join(lines)
    if draw(st.booleans()):
        text = text.replace("models:\n", draw(st.sampled_from(["models: # the catalog\n", "models:  \n"])), 1)
    if draw(st.sampled_from([False] * 9 + [True])):
        text = text.replace("\n", "\r\n")
    return text


@st.composite
def edited(draw: st.DrawFn, text: str) -> str:
    """The same catalog with one line changed, added or removed (entries after it move)."""
    lines = text.split("\n")
    at = draw(st.integers(0, max(0, len(lines) - 1)))
    how = draw(st.sampled_from(["change", "insert", "delete"]))
    if how == "change":
        lines[at] = lines[at].replace("1", "7", 1) if "1" in lines[at] else lines[at] + " # edited"
    elif how == "insert":
        lines.insert(at, draw(st.sampled_from(["", "# new", "  new-model: {a: 1}"])))
    else:
        del lines[at]
    return "\n".join(lines)


HYPOTHESIS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@HYPOTHESIS
@given(data=st.data(), text=catalog_texts())
def test_entry_by_entry_parse_equals_the_whole_file_parse_cold_warm_and_after_an_edit(
    tmp_path: Path, data: st.DataObject, text: str
) -> None:
    path = tmp_path / "models.yaml"
    memo = Memo()

    whole, cold = both(path, text, memo)
    assert cold == whole
    whole, warm = both(path, text, memo)
    assert warm == whole
    whole, after = both(path, data.draw(edited(text)), memo)
    assert after == whole


def test_an_unchanged_catalog_is_not_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from components.catalog import entries as source

    path = tmp_path / "models.yaml"
    path.write_text("apiVersion: v1\nmodels:\n  a:\n    x: 1\n  b:\n    y: [1, 2]\n", encoding="utf-8")
    memo = Memo()
    first = load_catalog_yaml(path, "models.yaml", memo)
    parsed: list[str] = []
    original = source._parse_part
    monkeypatch.setattr(
        source, "_parse_part", lambda text, *a, **k: parsed.append(text) or original(text, *a, **k)
    )

    again = load_catalog_yaml(path, "models.yaml", memo)

    assert parsed == ["apiVersion: v1\nmodels:\n"]  # the head only: both entries came from the memo
    assert again[0] == first[0] and again[1].values == first[1].values
    assert memo.stores == 1


def test_a_changed_entry_is_the_only_one_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from components.catalog import entries as source

    path = tmp_path / "models.yaml"
    path.write_text("apiVersion: v1\nmodels:\n  a:\n    x: 1\n  b:\n    y: 2\n", encoding="utf-8")
    memo = Memo()
    load_catalog_yaml(path, "models.yaml", memo)
    path.write_text("apiVersion: v1\nmodels:\n  a:\n    x: 1\n  b:\n    y: 3\n", encoding="utf-8")
    parsed: list[str] = []
    original = source._parse_part
    monkeypatch.setattr(
        source, "_parse_part", lambda text, *a, **k: parsed.append(text) or original(text, *a, **k)
    )

    data, _ = load_catalog_yaml(path, "models.yaml", memo)

    assert parsed[1:] == ["  b:\n    y: 3\n"]  # the last entry ends as the file does
    assert data["models"] == {"a": {"x": 1}, "b": {"y": 3}}


@pytest.mark.parametrize("chomping", ["|", "|-", "|+", ">"])
@pytest.mark.parametrize("ending", ["", "\n", "\n\n"])
def test_a_block_scalar_ending_the_file_parses_as_in_the_whole_file_with_or_without_a_last_line_break(
    tmp_path: Path, chomping: str, ending: str
) -> None:
    # Found by the property above: the last entry was parsed with a line break the file did not have.
    text = (
        f"apiVersion: v1\nmodels:\n  a: {{b: 1}}\n  c:\n    text: {chomping}\n      two\n      lines{ending}"
    )
    memo = Memo()
    for _ in ("cold", "warm"):
        whole, chunked = both(tmp_path / "models.yaml", text, memo)
        assert chunked == whole


def test_nesting_is_bounded_as_deep_in_an_entry_as_in_the_whole_file(tmp_path: Path) -> None:
    # An entry's mapping is two levels down in the file: the bound must count them.
    deepest = "".join("  " * (i + 2) + f"k{i}:\n" for i in range(MAX_DEPTH - 2)) + "  " * MAX_DEPTH + "v: 1\n"
    for extra in ("", "  " * MAX_DEPTH + "  w:\n" + "  " * (MAX_DEPTH + 2) + "z: 1\n"):
        text = "apiVersion: v1\nmodels:\n  a:\n" + deepest.replace("  " * MAX_DEPTH + "v: 1\n", "") + extra
        whole, chunked = both(tmp_path / "models.yaml", text, Memo())
        assert chunked == whole


@HYPOTHESIS
@given(data=st.data(), text=catalog_texts())
def test_a_warm_parse_locates_every_path_where_the_whole_file_parse_does_before_decoding_the_rest(
    tmp_path: Path, data: st.DataObject, text: str
) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        _, whole = load_yaml(path, "models.yaml")
    except CatalogError:
        return
    memo = Memo()
    load_catalog_yaml(path, "models.yaml", memo)
    path.write_text(data.draw(edited(text)), encoding="utf-8")
    try:
        _, whole = load_yaml(path, "models.yaml")
        _, warm = load_catalog_yaml(path, "models.yaml", memo)
    except CatalogError:
        return
    known = sorted({*whole.values, *whole.keys}, key=repr)
    if not known:
        return
    # A path as written, one below it that is not in the file, and a model the file does not have.
    chosen = data.draw(st.sampled_from(known))
    for where in (chosen, (*chosen, "absent"), ("models", "not-a-model", "x")):
        for key in (False, True):
            assert warm.locate(where, key=key) == whole.locate(where, key=key)


def test_a_warm_parse_decodes_only_the_entries_whose_positions_are_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "apiVersion: v1\nmodels:\n" + "".join(f"  m{i}:\n    x: {i}\n" for i in range(5)), encoding="utf-8"
    )
    memo = Memo()
    load_catalog_yaml(path, "models.yaml", memo)
    _, warm = load_catalog_yaml(path, "models.yaml", memo)

    assert warm.locate(("models", "m3", "x")) == (10, 8)

    assert list(warm._pending) == ["m0", "m1", "m2", "m4"]  # type: ignore[attr-defined]
