"""Catalog rules of autoscaling: located messages that say what is wrong and how to fix it."""

from __future__ import annotations

from .conftest import IMAGE

VLLM_METRICS = (
    "vllm:num_requests_waiting, vllm:num_requests_running, vllm:kv_cache_usage_perc, "
    "vllm:request_queue_time_seconds, vllm:time_to_first_token_seconds, vllm:e2e_request_latency_seconds, "
    "vllm:request_success_total"
)


def chat(autoscaling: str, replicas: str = "{min: 1, max: 3}", server: str = "server: vllm") -> str:
    return f"""
chat:
  {server}
  autoscaling: {autoscaling}
  versions:
    v1:
      image: {IMAGE}
      weight: 100
      resources: {{cpu: "1", memory: 1Gi}}
      replicas: {replicas}
"""


def test_a_valid_autoscaled_model_has_no_problems(problems) -> None:
    assert problems(chat("{target: 4}")) == []


def test_metric_the_server_does_not_expose_is_located_with_a_suggestion(problems) -> None:
    assert problems(chat('{target: 4, metric: "vllm:num_request_waiting"}')) == [
        "models.yaml:5:38: models.chat.autoscaling.metric: server vllm does not expose "
        "'vllm:num_request_waiting', so the autoscaler would never get a value — did you mean "
        f"'vllm:num_requests_waiting'? (exposed: {VLLM_METRICS})"
    ]


def test_custom_queue_metric_missing_from_the_metrics_list_is_located_at_the_override(problems) -> None:
    server = (
        "server: custom\n  serverOverrides: {port: 8080, livenessPath: /live, readinessPath: /ready, "
        "queueMetric: queue_depth, metrics: [queue_length, requests_total]}"
    )
    assert problems(chat("{target: 4}", server=server)) == [
        "models.yaml:5:92: models.chat.serverOverrides.queueMetric: server custom does not expose "
        "'queue_depth', so the autoscaler would never get a value — did you mean 'queue_length'? "
        "(exposed: queue_length, requests_total)"
    ]


def test_autoscaling_with_only_fixed_size_versions_warns_that_no_hpa_is_created(problems) -> None:
    assert problems(chat("{target: 4}", replicas="2")) == [
        "models.yaml:5:5: warning: models.chat.autoscaling: every version has replicas.min == replicas.max, "
        "so no HorizontalPodAutoscaler is created and autoscaling has no effect — give a version a range "
        "(e.g. replicas: {min: 1, max: 4}) or remove autoscaling"
    ]


def test_idle_replicas_above_max_are_an_error(problems) -> None:
    assert problems(chat("{target: 4}", replicas="{min: 1, max: 3, idle: 5}")) == [
        "models.yaml:11:42: models.chat.versions.v1.replicas.idle: replicas.idle (5) is above replicas.max (3) "
        "— the autoscaler's minReplicas at weight 0 cannot exceed its maxReplicas; lower idle or raise max"
    ]


def test_target_below_a_milli_unit_is_an_error(problems) -> None:
    assert problems(chat("{target: 0.0001}")) == [
        "models.yaml:5:27: models.chat.autoscaling.target: target 0.0001 is below 0.001, the smallest "
        "averageValue a Kubernetes quantity can express — use a larger target"
    ]


def test_non_positive_target_is_refused_by_the_schema(problems) -> None:
    assert problems(chat("{target: 0}")) == [
        "models.yaml:5:27: models.chat.autoscaling.target: 0 is out of range: input should be greater than 0 "
        "— change the value"
    ]


def test_scale_down_window_beyond_the_kubernetes_limit_is_located(problems) -> None:
    assert problems(chat("{target: 4, behavior: {scaleDownStabilizationSeconds: 7200}}")) == [
        "models.yaml:5:72: models.chat.autoscaling.behavior.scaleDownStabilizationSeconds: 7200 is out of "
        "range: input should be less than or equal to 3600 — change the value"
    ]


def test_policy_period_beyond_the_kubernetes_limit_is_located(problems) -> None:
    assert problems(chat("{target: 4, behavior: {scaleUpPeriodSeconds: 1801}}")) == [
        "models.yaml:5:63: models.chat.autoscaling.behavior.scaleUpPeriodSeconds: 1801 is out of range: "
        "input should be less than or equal to 1800 — change the value"
    ]


def test_two_metrics_served_under_one_name_are_an_error(problems) -> None:
    server = (
        "server: custom\n  serverOverrides: {port: 8080, livenessPath: /live, readinessPath: /ready, "
        "queueMetric: vllm_num_requests_waiting, metrics: [vllm_num_requests_waiting]}"
    )
    catalog = chat("{target: 4}") + chat("{target: 4}", server=server).replace("chat:", "other:", 1)

    assert problems(catalog) == [
        "models.yaml:16:5: models.other.autoscaling: metric 'vllm_num_requests_waiting' is served to the "
        "autoscaler as 'vllm_num_requests_waiting', the same name as 'vllm:num_requests_waiting' of model chat "
        "— the metrics adapter could not tell them apart; rename one metric"
    ]
