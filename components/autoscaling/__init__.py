"""Queue-length autoscaling of every model version, and the monitoring that autoscaling and releases use.

Modules: `queries` (every PromQL query of a version, the one source the scaler, the alerts and the gate
use; free of Pulumi), `metrics` (the scaled metric and its served name; imported by the validation rules,
so kept free of Pulumi), `keda` (the ScaledObject of engine `keda`) and `hpa` (the HPA of engine
`prometheus-adapter`), both declared by ModelVersion, `adapter` (this stack's prometheus-adapter rules
fragment), `alerts` and `monitoring` (PodMonitor and PrometheusRule).
"""
