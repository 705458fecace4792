"""The one name a Prometheus metric is served under, for the HPA and the metrics adapter alike."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from components.autoscaling.metrics import served_metric_name

# Prometheus metric names (classic charset), colons included.
metric_names = st.from_regex(r"\A[a-zA-Z_:][a-zA-Z0-9_:]{0,40}\Z")


def test_vllm_colon_metric_is_served_with_an_underscore() -> None:
    assert served_metric_name("vllm:num_requests_waiting") == "vllm_num_requests_waiting"


def test_triton_and_tgi_queue_metrics_keep_their_names() -> None:
    assert served_metric_name("nv_inference_pending_request_count") == "nv_inference_pending_request_count"
    assert served_metric_name("tgi_queue_size") == "tgi_queue_size"


@given(metric_names)
def test_served_names_hold_only_letters_digits_and_underscores(raw: str) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_]+", served_metric_name(raw))


@given(metric_names)
def test_serving_a_served_name_again_changes_nothing(raw: str) -> None:
    served = served_metric_name(raw)
    assert served_metric_name(served) == served


@given(metric_names)
def test_only_colons_change(raw: str) -> None:
    served = served_metric_name(raw)
    assert len(served) == len(raw)
    assert [a for a, b in zip(raw, served, strict=True) if a != b] == [":"] * raw.count(":")
