"""Long strings in a plan (PromQL, JSON, config files) show the part that changed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from modelstack.engine.text_diff import inline, line_diff, string_diff, word_diff

EXPR = (
    "(histogram_quantile(0.99, sum by (destination_workload, le) (rate(istio_request_duration_milliseconds_bucket"
    '{reporter="destination",destination_workload=~"(llm-chat-v1|llm-chat-v2)"}[5m]))) > 800)'
)


def test_a_changed_threshold_in_a_long_expression_is_visible() -> None:
    (line,) = string_diff(EXPR, EXPR.replace("> 800", "> 500"))
    assert "[-800-]{+500+}" in line
    assert len(line) < len(EXPR) / 2  # only the neighbourhood of the change, not the whole expression


def test_a_workload_added_to_a_selector_is_visible() -> None:
    (line,) = string_diff(EXPR, EXPR.replace("llm-chat-v2)", "llm-chat-v2|llm-chat-v3)"))
    assert "{+|llm-chat-v3+}" in line


def test_a_multi_line_value_is_diffed_by_line() -> None:
    before = '{\n  "batch": 32,\n  "dtype": "bf16",\n  "kv": "fp8"\n}'
    after = before.replace('"batch": 32', '"batch": 64')
    assert line_diff(before, after) == ["  {", '-   "batch": 32,', '+   "batch": 64,', '    "dtype": "bf16",']


words = st.text(alphabet="ab (){}=|>.,\n0123", max_size=40)


@given(words, words)
def test_word_segments_spell_both_sides(before: str, after: str) -> None:
    segments = word_diff(before, after)
    assert "".join(s.text for s in segments if s.op != "+") == before
    assert "".join(s.text for s in segments if s.op != "-") == after


@given(words, words)
def test_every_changed_run_appears_in_the_shortened_line(before: str, after: str) -> None:
    segments = word_diff(before, after)
    line = inline(segments)
    for segment in segments:
        if segment.op == "-":
            assert f"[-{segment.text}-]".replace("\n", "⏎") in line
        elif segment.op == "+":
            assert f"{{+{segment.text}+}}".replace("\n", "⏎") in line


lines_of = st.lists(st.text("xyz", min_size=1, max_size=3), max_size=8)


@given(lines_of, lines_of)
def test_line_diff_with_full_context_spells_both_sides(old: list[str], new: list[str]) -> None:
    lines = line_diff("\n".join(old), "\n".join(new), context=len(old) + len(new))
    if old == new:
        assert lines == []
        return
    assert [line[2:] for line in lines if line[:2] in ("  ", "- ")] == old
    assert [line[2:] for line in lines if line[:2] in ("  ", "+ ")] == new


@given(lines_of, lines_of)
def test_line_diff_shows_every_line_removed_or_added(old: list[str], new: list[str]) -> None:
    full = line_diff("\n".join(old), "\n".join(new), context=len(old) + len(new))
    short = line_diff("\n".join(old), "\n".join(new))
    assert [line for line in full if line[:2] in ("- ", "+ ")] == [
        line for line in short if line[:2] in ("- ", "+ ")
    ]
