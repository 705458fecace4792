"""Queue-length autoscaling of every model version, and the monitoring that autoscaling and releases use.

Modules: `metrics` (the scaled metric and its served name; imported by the validation rules, so kept free
of Pulumi), `hpa` (the queue HPA manifest, declared by ModelVersion), `adapter` (prometheus-adapter rules), `alerts` and `monitoring`
(PodMonitor and PrometheusRule).
"""
