"""What the platform expects of a model version's container, read from the objects `modelstack render`
produced for it, so the image e2e test checks the image against the manifests and not against a copy.

From the version's Deployment (container ``server``) and the objects that refer to it:
- probe paths and ports (named ports resolved through the container's ``ports``);
- the metrics endpoints of the PodMonitor that selects the pods;
- the one autoscaler of the Deployment: a KEDA ScaledObject (the external metric names KEDA's own HPA
  asks for, and the series its Prometheus triggers' queries select from the pods) or an HPA (its metric
  names, and the series prometheus-adapter's rules serve each one from);
- the metrics the PrometheusRules query from the server: selectors that pick the pods by their ``app``
  label (istio_* and kube_* series carry other labels: the sidecar and kube-state-metrics export them);
- the metric names the stack's exported contract (``outputs.json``) says the server exposes;
- user, read-only root, writable paths (emptyDir mounts), the read-only weights mount (PVC or image
  volume), the environment (literals, ConfigMap and Secret keys resolved from the render), the CPU and
  memory limits and the image repository.

Anything missing or unresolvable is a `ContractError` naming the object and field, never a silent gap.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Object = Mapping[str, Any]

CONTAINER = "server"
PROBES = ("liveness", "readiness", "startup")
DEFAULT_METRICS_PATH = "/metrics"
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# A PromQL vector selector with label matchers: `name{...}` or `{__name__="name", ...}`.
_SELECTOR = re.compile(r"(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)?\{(?P<matchers>[^{}]*)\}")
_MATCHER = re.compile(
    r'\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*'
)
# Series labels a rule may select the server's pods by (the PodMonitor copies app and version).
_POD_LABELS = ("app", "version", "namespace")
# Series Prometheus itself writes for every target (and for alerts), not the server.
_SYNTHESIZED = re.compile(r"up|scrape_[a-z_]+|ALERTS(_FOR_STATE)?")


class ContractError(AssertionError):
    """The render does not describe a container that can be checked (or run) as the platform would."""


@dataclass(frozen=True)
class HttpEndpoint:
    port: int
    path: str

    def __str__(self) -> str:
        return f":{self.port}{self.path}"


@dataclass(frozen=True)
class RenderedContract:
    deployment: str
    namespace: str
    model: str
    """The pods' ``app`` label: what the PodMonitor and the alert rules select them by."""
    image_repository: str
    """The Deployment's image without its ``@sha256:…``: where the image must be pushed."""
    args: tuple[str, ...]
    liveness: HttpEndpoint
    readiness: HttpEndpoint
    startup: HttpEndpoint
    metrics: tuple[HttpEndpoint, ...]
    hpa_metrics: tuple[str, ...]
    """Metric names as the HPA asks the metrics API for them (KEDA's: `s<trigger index>-prometheus`)."""
    scaling_series: tuple[str, ...]
    """The Prometheus series the autoscaler's value comes from (KEDA's query, or the adapter's rules)."""
    alert_metrics: tuple[str, ...]
    declared_metrics: tuple[str, ...]
    run_as: str
    """``uid:gid``."""
    read_only_root: bool
    writable_paths: tuple[str, ...]
    weights_mount: str
    env: Mapping[str, str]
    cpu_limit: float
    """Cores the container may use (``resources.limits.cpu``)."""
    memory_limit_bytes: int
    """Bytes past which the kernel kills the container (``resources.limits.memory``)."""

    @property
    def probes(self) -> dict[str, HttpEndpoint]:
        return {kind: getattr(self, kind) for kind in PROBES}

    @property
    def ports(self) -> tuple[int, ...]:
        endpoints = (*self.probes.values(), *self.metrics)
        return tuple(sorted({endpoint.port for endpoint in endpoints}))

    @property
    def expected_metrics(self) -> tuple[str, ...]:
        """Every metric name the server's ``/metrics`` must carry."""
        return tuple(dict.fromkeys((*self.scaling_series, *self.alert_metrics, *self.declared_metrics)))


# --- reading a render -------------------------------------------------------------------------------


def load_render(directory: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The objects (``<ns>/<Kind>.<group>/<name>.yaml``) and outputs (``outputs.json``) of a render."""
    files = sorted(directory.glob("*/*/*.yaml"))
    if not files:
        raise ContractError(f"{directory}: no rendered objects (<ns>/<Kind>.<group>/<name>.yaml)")
    if not (directory / "outputs.json").exists():
        raise ContractError(f"{directory}: no outputs.json")
    objects = [yaml.safe_load(path.read_text()) for path in files]
    return objects, json.loads((directory / "outputs.json").read_text())


def derive_contract(
    objects: Iterable[Object], outputs: Mapping[str, Any], deployment: str
) -> RenderedContract:
    """The contract of Deployment ``deployment`` (its container ``server``) in a render's ``objects`` and
    ``outputs``."""
    index = _Index(list(objects))
    found = index.one("Deployment", deployment)
    namespace = found["metadata"]["namespace"]
    pod_spec = found["spec"]["template"]["spec"]
    pod_labels = found["spec"]["template"]["metadata"].get("labels", {})
    container = _container(pod_spec, deployment)
    model = pod_labels.get("app")
    if not model:
        raise ContractError(f"Deployment {deployment}: its pods have no app label")
    ports = _named_ports(container)
    where = f"Deployment {deployment} container {CONTAINER}"
    hpa_metrics, scaling_series = _scaling(index, namespace, deployment, pod_labels)
    return RenderedContract(
        deployment=deployment,
        namespace=namespace,
        model=model,
        image_repository=_repository(container.get("image", ""), where),
        args=tuple(container.get("args", ())),
        liveness=_probe(container, "liveness", ports, where),
        readiness=_probe(container, "readiness", ports, where),
        startup=_probe(container, "startup", ports, where),
        metrics=_metrics_endpoints(
            index,
            namespace,
            pod_labels,
            ports,
            deployment,
            pod_metadata=found["spec"]["template"]["metadata"],
        ),
        hpa_metrics=hpa_metrics,
        scaling_series=scaling_series,
        alert_metrics=_alert_metrics(index, namespace, pod_labels, deployment),
        declared_metrics=_declared_metrics(outputs, model),
        run_as=_run_as(pod_spec, container, where),
        read_only_root=bool(container.get("securityContext", {}).get("readOnlyRootFilesystem", False)),
        writable_paths=_empty_dir_mounts(pod_spec, container),
        weights_mount=_weights_mount(pod_spec, container, where),
        env=_env(index, namespace, container, where),
        **_limits(container, where),
    )


class _Index:
    def __init__(self, objects: list[Object]) -> None:
        self.objects = objects

    def of_kind(self, kind: str, namespace: str | None = None) -> list[Object]:
        return [
            o
            for o in self.objects
            if o.get("kind") == kind and (namespace is None or o["metadata"].get("namespace") == namespace)
        ]

    def one(self, kind: str, name: str, namespace: str | None = None) -> Object:
        found = [o for o in self.of_kind(kind, namespace) if o["metadata"]["name"] == name]
        if len(found) != 1:
            where = f" in namespace {namespace}" if namespace else ""
            raise ContractError(f"the render has {len(found)} {kind} named {name}{where}, not one")
        return found[0]


# --- container --------------------------------------------------------------------------------------


def _container(pod_spec: Object, deployment: str) -> Object:
    containers: list[Object] = pod_spec.get("containers", [])
    for container in containers:
        if container["name"] == CONTAINER:
            return container
    names = [c["name"] for c in pod_spec.get("containers", ())]
    raise ContractError(f"Deployment {deployment}: no container {CONTAINER!r} (has {names})")


def _named_ports(container: Object) -> dict[str, int]:
    return {p["name"]: int(p["containerPort"]) for p in container.get("ports", ()) if "name" in p}


def _port(port: int | str, ports: Mapping[str, int], where: str) -> int:
    if isinstance(port, int):
        return port
    if port.isdigit():
        return int(port)
    if port not in ports:
        raise ContractError(f"{where}: port {port!r} is not a named port of the container ({dict(ports)})")
    return ports[port]


def _probe(container: Object, kind: str, ports: Mapping[str, int], where: str) -> HttpEndpoint:
    probe = container.get(f"{kind}Probe")
    if probe is None:
        raise ContractError(f"{where}: no {kind}Probe")
    http = probe.get("httpGet")
    if http is None:
        raise ContractError(f"{where}: {kind}Probe is not an httpGet probe ({sorted(probe)})")
    return HttpEndpoint(_port(http["port"], ports, f"{where} {kind}Probe"), http.get("path", "/"))


def _repository(image: str, where: str) -> str:
    if not _DIGEST.search(image):
        raise ContractError(f"{where}: image {image!r} is not pinned by digest")
    repository = image.rsplit("@", 1)[0]
    name, _, tag = repository.rpartition(":")
    return name if name and "/" not in tag else repository


def _limits(container: Object, where: str) -> dict[str, Any]:
    """The container's CPU and memory limits: the image must serve within them."""
    from components.gpu.capacity import quantity

    limits = container.get("resources", {}).get("limits", {})
    missing = [name for name in ("cpu", "memory") if name not in limits]
    if missing:
        raise ContractError(f"{where}: no resources.limits.{' or '.join(missing)}")
    return {
        "cpu_limit": float(quantity(str(limits["cpu"]))),
        "memory_limit_bytes": int(quantity(str(limits["memory"]))),
    }


def _run_as(pod_spec: Object, container: Object, where: str) -> str:
    merged = {**pod_spec.get("securityContext", {}), **container.get("securityContext", {})}
    missing = [key for key in ("runAsUser", "runAsGroup") if key not in merged]
    if missing:
        raise ContractError(f"{where}: no {' or '.join(missing)} in the container or pod securityContext")
    return f"{merged['runAsUser']}:{merged['runAsGroup']}"


def _empty_dir_mounts(pod_spec: Object, container: Object) -> tuple[str, ...]:
    """Where the container may write: its root filesystem is read-only."""
    volumes = {v["name"]: v for v in pod_spec.get("volumes", ())}
    return tuple(
        m["mountPath"] for m in container.get("volumeMounts", ()) if "emptyDir" in volumes.get(m["name"], {})
    )


def _weights_mount(pod_spec: Object, container: Object, where: str) -> str:
    """The mount of the model weights: a persistentVolumeClaim or an image volume, read-only."""
    volumes = {v["name"]: v for v in pod_spec.get("volumes", ())}
    mounts = [
        m
        for m in container.get("volumeMounts", ())
        if {"persistentVolumeClaim", "image"} & volumes.get(m["name"], {}).keys()
    ]
    if len(mounts) != 1:
        raise ContractError(
            f"{where}: {len(mounts)} weights mounts (persistentVolumeClaim or image), not one"
        )
    [mount] = mounts
    if mount.get("readOnly") is not True:
        raise ContractError(f"{where}: the weights mount {mount['mountPath']} is not readOnly")
    return str(mount["mountPath"])


def _env(index: _Index, namespace: str, container: Object, where: str) -> dict[str, str]:
    if container.get("envFrom"):
        raise ContractError(f"{where}: envFrom is not supported here; list the variables in env")
    env: dict[str, str] = {}
    for variable in container.get("env", ()):
        name = variable["name"]
        if "value" in variable:
            env[name] = str(variable["value"])
            continue
        source = variable.get("valueFrom", {})
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            data = index.one("ConfigMap", ref["name"], namespace).get("data", {})
            if ref["key"] not in data:
                raise ContractError(f"{where}: env {name}: ConfigMap {ref['name']} has no key {ref['key']!r}")
            env[name] = str(data[ref["key"]])
        elif "secretKeyRef" in source:
            env[name] = _secret_value(index, namespace, source["secretKeyRef"], f"{where}: env {name}")
        else:
            raise ContractError(f"{where}: env {name}: cannot resolve {sorted(source)} outside a cluster")
    return env


def _secret_value(index: _Index, namespace: str, ref: Object, where: str) -> str:
    secrets = [s for s in index.of_kind("Secret", namespace) if s["metadata"]["name"] == ref["name"]]
    if not secrets:
        raise ContractError(
            f"{where}: secretKeyRef {ref['name']}/{ref['key']} cannot be resolved: the render holds no "
            f"Secret {ref['name']} in {namespace}"
        )
    [secret] = secrets
    if ref["key"] in secret.get("stringData", {}):
        return str(secret["stringData"][ref["key"]])
    if ref["key"] in secret.get("data", {}):
        return base64.b64decode(secret["data"][ref["key"]]).decode()
    raise ContractError(f"{where}: Secret {ref['name']} has no key {ref['key']!r}")


# --- monitoring and autoscaling ---------------------------------------------------------------------


MERGED_PORT, MERGED_PATH = 15020, "/stats/prometheus"


def _metrics_endpoints(
    index: _Index,
    namespace: str,
    pod_labels: Mapping[str, str],
    ports: Mapping[str, int],
    deployment: str,
    *,
    pod_metadata: Mapping[str, Any],
) -> tuple[HttpEndpoint, ...]:
    endpoints: list[HttpEndpoint] = []
    annotations = pod_metadata.get("annotations", {})
    for monitor in index.of_kind("PodMonitor"):
        spec = monitor["spec"]
        namespaces = spec.get("namespaceSelector", {}).get("matchNames") or [monitor["metadata"]["namespace"]]
        selected = spec.get("selector", {}).get("matchLabels", {}).items() <= pod_labels.items()
        if namespace not in namespaces or not selected:
            continue
        where = f"PodMonitor {monitor['metadata']['name']}"
        for endpoint in spec.get("podMetricsEndpoints", ()):
            if (endpoint.get("portNumber"), endpoint.get("path")) == (MERGED_PORT, MERGED_PATH):
                # Istio metrics merging: the sidecar's agent fetches the server's metrics from the
                # pod's prometheus.io/port and prometheus.io/path annotations.
                if "prometheus.io/port" not in annotations:
                    raise ContractError(f"{where}: scrapes Istio's merged metrics, but the pods name no port")
                merged = HttpEndpoint(
                    int(annotations["prometheus.io/port"]),
                    annotations.get("prometheus.io/path", DEFAULT_METRICS_PATH),
                )
                endpoints.append(merged)
                continue
            if "port" not in endpoint:
                raise ContractError(f"{where}: an endpoint without a port name")
            port = _port(endpoint["port"], ports, where)
            endpoints.append(HttpEndpoint(port, endpoint.get("path", DEFAULT_METRICS_PATH)))
    if not endpoints:
        raise ContractError(f"no PodMonitor endpoint scrapes the pods of Deployment {deployment}")
    return tuple(dict.fromkeys(endpoints))


def _scaling(
    index: _Index, namespace: str, deployment: str, pod_labels: Mapping[str, str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(metric names the HPA asks for, Prometheus series behind them) of the Deployment's one autoscaler."""
    scalers = [
        o
        for kind in ("HorizontalPodAutoscaler", "ScaledObject")
        for o in index.of_kind(kind, namespace)
        # KEDA defaults an omitted scaleTargetRef.kind to Deployment.
        if o["spec"]["scaleTargetRef"].get("kind", "Deployment" if kind == "ScaledObject" else None)
        == "Deployment"
        and o["spec"]["scaleTargetRef"].get("name") == deployment
    ]
    if len(scalers) != 1:
        found = ", ".join(f"{o['kind']} {o['metadata']['name']}" for o in scalers)
        raise ContractError(
            f"{len(scalers)} autoscalers (HorizontalPodAutoscaler or ScaledObject) scale Deployment "
            f"{deployment}, not one" + (f": {found}" if found else "")
        )
    [scaler] = scalers
    if scaler["kind"] == "ScaledObject":
        return _keda_scaling(scaler, namespace, pod_labels, deployment)
    hpa_metrics = _hpa_metrics(scaler)
    return hpa_metrics, _adapter_series(index, hpa_metrics, deployment)


def _keda_scaling(
    scaled: Object, namespace: str, pod_labels: Mapping[str, str], deployment: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    labels = {"namespace": namespace, **{k: v for k, v in pod_labels.items() if k in _POD_LABELS}}
    names: list[str] = []
    series: list[str] = []
    for i, trigger in enumerate(scaled["spec"].get("triggers", ())):
        if trigger.get("type") != "prometheus":
            continue
        # KEDA >= 2.12 names each trigger's external metric after its index and scaler.
        names.append(f"s{i}-prometheus")
        selected = selected_metrics(str(trigger.get("metadata", {}).get("query", "")), labels)
        if not selected:
            raise ContractError(
                f"ScaledObject {scaled['metadata']['name']}: trigger {i}'s query selects no metric of the pods "
                f"of Deployment {deployment} by their app label"
            )
        series += selected
    if not names:
        raise ContractError(f"ScaledObject {scaled['metadata']['name']}: no prometheus trigger")
    return tuple(names), tuple(dict.fromkeys(series))


def _hpa_metrics(hpa: Object) -> tuple[str, ...]:
    names: list[str] = []
    for metric in hpa["spec"].get("metrics", ()):
        kind = metric["type"]
        source = metric.get(kind[0].lower() + kind[1:], {})
        if "metric" in source:  # Pods, Object, External; Resource (cpu, memory) is not the server's
            names.append(source["metric"]["name"])
    if not names:
        raise ContractError(f"HPA {hpa['metadata']['name']}: no Pods, Object or External metric")
    return tuple(names)


def _adapter_series(index: _Index, hpa_metrics: tuple[str, ...], deployment: str) -> tuple[str, ...]:
    """The Prometheus series behind each metric name, from the prometheus-adapter rules in the render's
    ConfigMaps (a stack's rules fragment, or a whole adapter configuration)."""
    served: dict[str, str] = {}
    for config_map in index.of_kind("ConfigMap"):
        for text in config_map.get("data", {}).values():
            try:
                config = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            if not isinstance(config, dict):
                continue
            rules = (*config.get("rules", ()), *config.get("externalRules", ()))
            for rule in rules:
                if not isinstance(rule, dict) or "seriesQuery" not in rule:
                    continue
                series = rule["seriesQuery"].split("{", 1)[0].strip()
                served.setdefault(rule.get("name", {}).get("as", series), series)
    missing = [name for name in hpa_metrics if name not in served]
    if missing:
        raise ContractError(
            f"the HPA of Deployment {deployment} asks for {missing}, which no prometheus-adapter rule in the "
            f"render serves (served: {sorted(served)})"
        )
    return tuple(dict.fromkeys(served[name] for name in hpa_metrics))


def _alert_metrics(
    index: _Index, namespace: str, pod_labels: Mapping[str, str], deployment: str
) -> tuple[str, ...]:
    labels = {"namespace": namespace, **{k: v for k, v in pod_labels.items() if k in _POD_LABELS}}
    found: list[str] = []
    for rule_object in index.of_kind("PrometheusRule"):
        for group in rule_object["spec"].get("groups", ()):
            for rule in group.get("rules", ()):
                found += selected_metrics(str(rule.get("expr", "")), labels)
    if not found:
        raise ContractError(
            f"no PrometheusRule expr selects a metric of the pods of Deployment {deployment} by "
            f'app="{labels["app"]}"'
        )
    return tuple(dict.fromkeys(found))


def selected_metrics(expr: str, labels: Mapping[str, str]) -> list[str]:
    """Metric names of the selectors in ``expr`` that pick series with ``labels``: each needs an ``app``
    matcher, and every matcher on a label in ``labels`` must accept its value. Series Prometheus writes
    itself (``up``, ``scrape_*``) are left out."""
    names: list[str] = []
    for selector in _SELECTOR.finditer(expr):
        matchers = _matchers(selector["matchers"])
        name = selector["name"] or next((v for k, op, v in matchers if k == "__name__" and op == "="), None)
        if not name or _SYNTHESIZED.fullmatch(name) or "app" not in {k for k, _, _ in matchers}:
            continue
        if all(_accepts(op, v, labels[k]) for k, op, v in matchers if k in labels):
            names.append(name)
    return names


def _matchers(text: str) -> list[tuple[str, str, str]]:
    parts = [p for p in re.split(r',(?=(?:[^"]*"[^"]*")*[^"]*$)', text) if p.strip()]
    found = []
    for part in parts:
        match = _MATCHER.fullmatch(part)
        if match is None:
            raise ContractError(f"cannot parse the label matcher {part!r}")
        found.append((match["label"], match["op"], match["value"].encode().decode("unicode_escape")))
    return found


def _accepts(op: str, pattern: str, value: str) -> bool:
    if op == "=":
        return value == pattern
    if op == "!=":
        return value != pattern
    matched = re.fullmatch(pattern, value) is not None
    return matched if op == "=~" else not matched


def _declared_metrics(outputs: Mapping[str, Any], model: str) -> tuple[str, ...]:
    try:
        exposed = outputs["contract"]["models"][model]["metrics"]["exposed"]
    except (KeyError, TypeError):
        raise ContractError(f"outputs: no contract.models.{model}.metrics.exposed") from None
    return tuple(exposed)
