"""Item 5 of issue #20: a cookie pin matches real browsers' Cookie headers the way Envoy matches them.

Envoy's `safe_regex` header matcher runs Google RE2 against the *whole* header value (full match); Istio
renders a VirtualService `headers.<name>.regex` as exactly that matcher. These tests run the rendered
pattern through RE2 itself (`google-re2`), with full-match semantics.
"""

from __future__ import annotations

import re2
from hypothesis import given
from hypothesis import strategies as st

from components.catalog.traffic import RouteMatch
from components.traffic.routing import match_request

NAME = st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True)
VALUE = st.from_regex(r"[A-Za-z0-9._-]{1,8}", fullmatch=True)
# RFC 6265 cookie-octet: what other cookies' values may hold (no space, DQUOTE, comma, semicolon, backslash).
OTHER_VALUE = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='",;\\'), max_size=12
)


def envoy_matches(pattern: str, header: str) -> bool:
    return re2.fullmatch(pattern, header) is not None


def rendered_pattern(name: str, value: str) -> str:
    match = match_request(RouteMatch(cookie=name, value=value))
    pattern: str = match["headers"]["cookie"]["regex"]
    return pattern


def test_the_pin_matches_a_browser_header_with_other_cookies_before_and_after() -> None:
    pattern = rendered_pattern("arm", "b")
    assert envoy_matches(pattern, "session=x; arm=b")
    assert envoy_matches(pattern, "arm=b; session=x")
    assert envoy_matches(pattern, "a=1; arm=b; z=2")
    assert envoy_matches(pattern, "arm=b")
    assert envoy_matches(pattern, "a=1;arm=b")  # no space after `;` (some clients)


def test_names_and_values_that_extend_the_pinned_ones_do_not_match() -> None:
    pattern = rendered_pattern("arm", "b.2")
    for header in ("farm=b.2", "arm_x=b.2", "session=x; xarm=b.2", "arm=b.20", "arm=bx2", "x=arm=b.2"):
        assert not envoy_matches(pattern, header), header


def test_the_pattern_issue_20_found_fails_under_envoys_full_match() -> None:
    # The old rendering `(^|;\s*)arm=b(;|$)` only works with search semantics.
    assert not envoy_matches(r"(^|;\s*)arm=b(;|$)", "session=x; arm=b")


@given(
    name=NAME,
    value=VALUE,
    others=st.lists(st.tuples(NAME, OTHER_VALUE), max_size=5),
    position=st.integers(min_value=0, max_value=5),
    separator=st.sampled_from(["; ", ";"]),
)
def test_the_pin_matches_exactly_when_the_jar_holds_that_cookie(
    name: str, value: str, others: list[tuple[str, str]], position: int, separator: str
) -> None:
    jar = [(n, v) for n, v in others if n != name]
    pinned = position % 2 == 0
    if pinned:
        jar.insert(min(position, len(jar)), (name, value))
    header = separator.join(f"{n}={v}" for n, v in jar)
    assert envoy_matches(rendered_pattern(name, value), header) == ((name, value) in jar)


@given(name=NAME, value=VALUE, prefix=NAME, suffix=NAME)
def test_prefixed_or_suffixed_names_never_match(name: str, value: str, prefix: str, suffix: str) -> None:
    pattern = rendered_pattern(name, value)
    assert not envoy_matches(pattern, f"{prefix}{name}={value}")
    assert not envoy_matches(pattern, f"a=1; {name}{suffix}={value}")
    assert not envoy_matches(pattern, f"{name}={value}{suffix}; a=1")
