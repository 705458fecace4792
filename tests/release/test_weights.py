"""Rebalancing and rollback targets: pure functions over a model's weights."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelstack.release.edits import ReleaseError, rebalance, rollback_target


def test_promote_shares_the_rest_in_proportion():
    assert rebalance({"v1": 90, "v2": 10}, "v2", 50) == {"v1": 50, "v2": 50}
    assert rebalance({"v1": 60, "v2": 30, "v3": 10}, "v3", 40) == {"v1": 40, "v2": 20, "v3": 40}


def test_rounding_goes_to_the_largest_remainder_then_the_first_listed():
    # 67 shared 1:1 is 33.5 each: the extra unit goes to the version listed first.
    assert rebalance({"v1": 50, "v2": 50, "v3": 0}, "v3", 33) == {"v1": 34, "v2": 33, "v3": 33}


def test_versions_at_zero_stay_at_zero():
    assert rebalance({"v1": 0, "v2": 90, "v3": 10}, "v3", 100) == {"v1": 0, "v2": 0, "v3": 100}
    assert rebalance({"v1": 0, "v2": 90, "v3": 10}, "v3", 50) == {"v1": 0, "v2": 50, "v3": 50}


def test_refuses_to_strand_traffic_when_no_other_version_carries_any():
    with pytest.raises(ReleaseError, match="no other version carries traffic"):
        rebalance({"v1": 100, "v2": 0}, "v1", 90)


def test_refuses_a_partial_weight_for_the_only_version():
    with pytest.raises(ReleaseError, match="only version"):
        rebalance({"v1": 100}, "v1", 50)


def test_refuses_unknown_versions_and_out_of_range_weights():
    with pytest.raises(ReleaseError, match="no version 'v9'"):
        rebalance({"v1": 100}, "v9", 100)
    with pytest.raises(ReleaseError, match="between 0 and 100"):
        rebalance({"v1": 100}, "v1", 101)


def test_rollback_goes_to_the_heaviest_version_other_than_the_newest():
    assert rollback_target({"v1": 90, "v2": 10}) == "v1"
    assert rollback_target({"v1": 0, "v2": 100}) == "v1"
    assert rollback_target({"v1": 0, "v2": 60, "v3": 40}) == "v2"
    assert rollback_target({"v1": 0, "v2": 0, "v3": 100}) == "v1"  # tie: the oldest


def test_rollback_needs_a_second_version():
    with pytest.raises(ReleaseError, match="nothing to roll back to"):
        rollback_target({"v1": 100})


@st.composite
def weights_and_promotion(draw):
    count = draw(st.integers(min_value=1, max_value=6))
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=count - 1, max_size=count - 1)))
    bounds = [0, *cuts, 100]
    weights = {f"v{i + 1}": bounds[i + 1] - bounds[i] for i in range(count)}
    version = draw(st.sampled_from(list(weights)))
    return weights, version, draw(st.integers(0, 100))


@given(weights_and_promotion())
def test_promote_always_leaves_valid_weights_or_refuses(case):
    weights, version, weight = case
    try:
        result = rebalance(weights, version, weight)
    except ReleaseError:
        others = sum(w for v, w in weights.items() if v != version)
        assert weight < 100 and others == 0  # the only refusal for a known version and weight in range
        return
    assert sum(result.values()) == 100
    assert all(0 <= w <= 100 for w in result.values())
    assert result[version] == weight
    assert list(result) == list(weights)
    assert all(result[v] == 0 for v, w in weights.items() if w == 0 and v != version)
    assert rebalance(weights, version, weight) == result  # deterministic
