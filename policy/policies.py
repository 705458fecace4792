"""modelstack guardrails as CrossGuard policies, on the camelCase props of Kubernetes resources.

Kept free of the pack itself (`__main__.py`) and of modelstack's code, so that the Pulumi policy host,
the unit tests and `modelstack check` (which runs them over an offline render) all import this module.
Props may be pulumi-policy's read-only proxies: only `Mapping`/`Sequence` are assumed, never dict/list.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

DIGEST_REF = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
GPU_RESOURCE_PREFIX = "nvidia.com/"
DEFAULT_GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
DEFAULT_GATEWAY_NAMESPACES = ("istio-ingress",)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
VIRTUAL_SERVICE_KIND = "VirtualService"
DESTINATION_RULE_KIND = "DestinationRule"
ISTIO_NETWORKING = "networking.istio.io"

# Where the pod template sits in each workload kind (pulumi-kubernetes type token → path to PodSpec).
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
LONG_RUNNING = {
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
}
# Pod Security Standard "restricted": the only volume types allowed (image volumes since Kubernetes 1.33).
RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
ALLOWED_ADDED_CAPABILITIES = {"NET_BIND_SERVICE"}


# --- reading props --------------------------------------------------------------------------------------


def dig(value: Any, *path: str) -> Any:
    """`value[path[0]][path[1]]…`, or None where a step is missing or not an object."""
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def items(value: Any) -> list[Any]:
    """A list field as a list ([] when absent); strings are not lists."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return []


def object_name(props: Mapping[str, Any]) -> str:
    meta = dig(props, "metadata") or {}
    namespace = meta.get("namespace")
    return f"{namespace}/{meta.get('name')}" if namespace else str(meta.get("name"))


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    path = POD_SPEC_PATHS.get(resource_type)
    spec = dig(props, *path) if path else None
    return spec if isinstance(spec, Mapping) else None


def containers(spec: Mapping[str, Any], *, init: bool = True) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(kind, container) for containers, and init/ephemeral containers when `init`."""
    fields = ("containers", "initContainers", "ephemeralContainers") if init else ("containers",)
    for field in fields:
        for container in items(spec.get(field)):
            if isinstance(container, Mapping):
                yield field[:-1], container


def is_istio(props: Mapping[str, Any], kind: str) -> bool:
    return str(props.get("apiVersion", "")).startswith(f"{ISTIO_NETWORKING}/") and props.get("kind") == kind


PodCheck = Callable[[str, Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], Iterable[str]]
"""(resource type, props, pod spec, policy config) → violation messages."""


def pod_policy(
    check: PodCheck, types: Iterable[str] = POD_SPEC_PATHS
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    wanted = set(types)

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in wanted:
            return
        spec = pod_spec(args.resource_type, args.props)
        if spec is None:
            return
        for message in check(args.resource_type, args.props, spec, args.get_config()):
            report(message, None)

    return validate


# --- images by digest ----------------------------------------------------------------------------------


def digest_problems(
    _type: str, props: Mapping[str, Any], spec: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterator[str]:
    for kind, container in containers(spec):
        image = str(container.get("image") or "")
        if not DIGEST_REF.match(image):
            yield (
                f"The {kind} {container.get('name')!r} uses image {image!r}, which is not pinned by digest. "
                "Reference it as repo@sha256:<digest> so that every replica and every rollback runs the same bits."
            )
    for volume in items(spec.get("volumes")):
        reference = str(dig(volume, "image", "reference") or "")
        if dig(volume, "image") is not None and not DIGEST_REF.match(reference):
            yield (
                f"The image volume {volume.get('name')!r} uses {reference!r}, which is not pinned by digest. "
                "Reference it as repo@sha256:<digest>."
            )


images_by_digest = ResourceValidationPolicy(
    name="images-by-digest",
    description="Every container image and image volume is referenced by digest (repo@sha256:…), never by tag.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=pod_policy(digest_problems),
)


# --- probes ---------------------------------------------------------------------------------------------

PROBES = ("startupProbe", "livenessProbe", "readinessProbe")
REQUIRED_PROBES = ("livenessProbe", "readinessProbe")


def probe_port(probe: Mapping[str, Any]) -> Any:
    for handler in ("httpGet", "tcpSocket", "grpc"):
        port = dig(probe, handler, "port")
        if port is not None:
            return port
    return None


def exposed_ports(container: Mapping[str, Any]) -> tuple[set[int], set[str]]:
    numbers: set[int] = set()
    names: set[str] = set()
    for port in items(container.get("ports")):
        if isinstance(port.get("containerPort"), int | float):
            numbers.add(int(port["containerPort"]))
        if port.get("name"):
            names.add(str(port["name"]))
    return numbers, names


def probe_problems(
    _type: str, props: Mapping[str, Any], spec: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterator[str]:
    for _, container in containers(spec, init=False):
        label = f"container {container.get('name')!r}"
        missing = [p for p in REQUIRED_PROBES if not isinstance(container.get(p), Mapping)]
        if missing:
            yield f"The {label} has no {' and no '.join(missing)}. A model server needs both, or traffic reaches pods that cannot serve."
        numbers, names = exposed_ports(container)
        for probe_name in PROBES:
            probe = container.get(probe_name)
            if not isinstance(probe, Mapping):
                continue
            port = probe_port(probe)
            if port is None:
                continue
            exposed = (int(port) in numbers) if isinstance(port, int | float) else (str(port) in names)
            if not exposed:
                yield f"The {label}'s {probe_name} targets port {port!r}, which the container does not expose. Aim it at a declared containerPort."


probes_on_exposed_ports = ResourceValidationPolicy(
    name="probes-on-exposed-ports",
    description="Every container of a long-running workload has liveness and readiness probes, and every probe targets a port the container exposes.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=pod_policy(probe_problems, LONG_RUNNING),
)


# --- accelerators ---------------------------------------------------------------------------------------


def quantity(value: Any) -> str | None:
    """A resource quantity as text; numbers come through the Pulumi engine as floats (1.0 is "1")."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Kubernetes' matching rule for one toleration against one taint."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    operator = toleration.get("operator") or "Equal"
    key = toleration.get("key") or ""
    if operator == "Exists":
        return key in ("", taint.get("key"))
    return key == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def accelerator_problems(
    _type: str, props: Mapping[str, Any], spec: Mapping[str, Any], config: Mapping[str, Any]
) -> Iterator[str]:
    taint = {**DEFAULT_GPU_TAINT, **dict(config.get("gpuTaint") or {})}
    requests_gpu = False
    for kind, container in containers(spec):
        requests = dig(container, "resources", "requests") or {}
        limits = dig(container, "resources", "limits") or {}
        for resource in sorted({*requests, *limits}):
            if not str(resource).startswith(GPU_RESOURCE_PREFIX):
                continue
            requests_gpu = True
            if quantity(requests.get(resource)) != quantity(limits.get(resource)):
                yield (
                    f"The {kind} {container.get('name')!r} requests {requests.get(resource)!r} but limits "
                    f"{limits.get(resource)!r} of {resource}. Accelerators cannot be overcommitted: set requests equal to limits."
                )
    if requests_gpu and not any(
        tolerates(t, taint) for t in items(spec.get("tolerations")) if isinstance(t, Mapping)
    ):
        shown = f"{taint['key']}={taint.get('value', '')}:{taint['effect']}"
        yield f"It requests GPUs but does not tolerate the GPU taint {shown}, so it can never schedule on a GPU node."


accelerators_requested_whole = ResourceValidationPolicy(
    name="accelerators-requests-equal-limits",
    description="Pods requesting nvidia.com/* resources set requests equal to limits and tolerate the GPU node taint.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=pod_policy(accelerator_problems),
    config_schema=PolicyConfigSchema(
        properties={
            "gpuTaint": {
                "type": "object",
                "properties": {
                    "key": {"type": "string"},
                    "value": {"type": "string"},
                    "effect": {"type": "string"},
                },
            }
        }
    ),
)


# --- restricted pod security ----------------------------------------------------------------------------


def _context_value(spec: Mapping[str, Any], container: Mapping[str, Any], *path: str) -> Any:
    """A container's securityContext setting, falling back to the pod's (as the kubelet does)."""
    own = dig(container, "securityContext", *path)
    return own if own is not None else dig(spec, "securityContext", *path)


def _pod_level_problems(spec: Mapping[str, Any]) -> Iterator[str]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            yield f"sets {field}: true"
    for volume in items(spec.get("volumes")):
        kinds = [k for k in volume if k != "name"]
        for kind in kinds:
            if kind not in RESTRICTED_VOLUME_TYPES:
                yield f"mounts a {kind} volume {volume.get('name')!r} (restricted allows {', '.join(sorted(RESTRICTED_VOLUME_TYPES))})"


def _container_problems(spec: Mapping[str, Any], container: Mapping[str, Any]) -> Iterator[str]:
    context = dig(container, "securityContext") or {}
    if context.get("privileged"):
        yield "is privileged"
    if context.get("allowPrivilegeEscalation") is not False:
        yield "does not set allowPrivilegeEscalation: false"
    if _context_value(spec, container, "runAsNonRoot") is not True:
        yield "does not set runAsNonRoot: true (on the pod or the container)"
    if _context_value(spec, container, "runAsUser") == 0:
        yield "runs as user 0"
    if _context_value(spec, container, "seccompProfile", "type") not in ("RuntimeDefault", "Localhost"):
        yield "has no seccompProfile of type RuntimeDefault or Localhost"
    capabilities = dig(context, "capabilities") or {}
    if "ALL" not in [str(c) for c in items(capabilities.get("drop"))]:
        yield "does not drop ALL capabilities"
    added = {str(c) for c in items(capabilities.get("add"))} - ALLOWED_ADDED_CAPABILITIES
    if added:
        yield f"adds capabilities {', '.join(sorted(added))} (only NET_BIND_SERVICE is allowed)"
    if any(p.get("hostPort") for p in items(container.get("ports"))):
        yield "uses a hostPort"


def pod_security_problems(
    _type: str, props: Mapping[str, Any], spec: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterator[str]:
    suffix = "The namespace enforces the restricted Pod Security Standard, so the API server would refuse its pods."
    for problem in _pod_level_problems(spec):
        yield f"The pod {problem}. {suffix}"
    for kind, container in containers(spec):
        for problem in _container_problems(spec, container):
            yield f"The {kind} {container.get('name')!r} {problem}. {suffix}"


restricted_pod_security = ResourceValidationPolicy(
    name="restricted-pod-security",
    description="Pods meet the restricted Pod Security Standard: non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp, no host namespaces, ports or paths.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=pod_policy(pod_security_problems),
)


# --- services -------------------------------------------------------------------------------------------


def _public_service(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != SERVICE:
        return
    kind = dig(args.props, "spec", "type")
    namespace = dig(args.props, "metadata", "namespace")
    allowed = tuple(args.get_config().get("gatewayNamespaces") or DEFAULT_GATEWAY_NAMESPACES)
    if kind in ("LoadBalancer", "NodePort") and namespace not in allowed:
        report(
            f"A Service of type {kind} exposes a model outside the mesh. Models are "
            f"reached through the Istio gateway (namespaces {', '.join(allowed)}); use a ClusterIP Service and `expose:`.",
            None,
        )


no_public_services = ResourceValidationPolicy(
    name="no-public-services-outside-gateway",
    description="No LoadBalancer or NodePort Services except in the Istio gateway's namespace.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_public_service,
    config_schema=PolicyConfigSchema(
        properties={"gatewayNamespaces": {"type": "array", "items": {"type": "string"}}}
    ),
)


# --- stack: HPA vs replicas -----------------------------------------------------------------------------


def _namespace(resource: PolicyResource) -> str | None:
    return dig(resource.props, "metadata", "namespace")


def _name(resource: PolicyResource) -> str | None:
    return dig(resource.props, "metadata", "name")


def _hpa_targets(resources: Sequence[PolicyResource]) -> dict[tuple[str | None, str], PolicyResource]:
    """(namespace, Deployment name) → the HPA scaling it."""
    targets = {}
    for hpa in resources:
        if not hpa.resource_type.startswith("kubernetes:autoscaling/") or not hpa.resource_type.endswith(
            ":HorizontalPodAutoscaler"
        ):
            continue
        ref = dig(hpa.props, "spec", "scaleTargetRef") or {}
        if ref.get("kind") == "Deployment" and ref.get("name"):
            targets[(_namespace(hpa), str(ref["name"]))] = hpa
    return targets


def _hpa_replicas(args: StackValidationArgs, report: ReportViolation) -> None:
    targets = _hpa_targets(args.resources)
    for deployment in args.resources:
        if deployment.resource_type != DEPLOYMENT:
            continue
        hpa = targets.get((_namespace(deployment), str(_name(deployment))))
        replicas = dig(deployment.props, "spec", "replicas")
        if hpa is not None and replicas is not None:
            report(
                f"It sets spec.replicas: {replicas} although HorizontalPodAutoscaler "
                f"{object_name(hpa.props)} manages it; every update would reset the replica count the HPA chose. Omit spec.replicas.",
                deployment.urn,
            )


hpa_managed_without_replicas = StackValidationPolicy(
    name="hpa-managed-deployments-omit-replicas",
    description="A Deployment scaled by a HorizontalPodAutoscaler does not set .spec.replicas.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_hpa_replicas,
)


def _dangling_hpas(args: StackValidationArgs, report: ReportViolation) -> None:
    deployments = {(_namespace(r), str(_name(r))) for r in args.resources if r.resource_type == DEPLOYMENT}
    for (namespace, name), hpa in _hpa_targets(args.resources).items():
        if (namespace, name) not in deployments:
            report(
                f"It scales Deployment {namespace}/{name}, which is not in the stack.",
                hpa.urn,
            )


hpa_targets_exist = StackValidationPolicy(
    name="hpa-targets-exist",
    description="Every HorizontalPodAutoscaler scales a Deployment of the stack.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_dangling_hpas,
)


# --- stack: Istio subsets -------------------------------------------------------------------------------


def full_host(host: str, namespace: str | None) -> str:
    """Istio's short-name rule: `svc` and `svc.ns` are completed in the namespace of the rule."""
    parts = host.split(".")
    if len(parts) == 1 and namespace:
        return f"{host}.{namespace}.svc.cluster.local"
    if len(parts) == 2:
        return f"{host}.svc.cluster.local"
    return host


def _route_destinations(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for protocol in ("http", "tls", "tcp"):
        for route in items(spec.get(protocol)):
            for target in items(route.get("route")):
                if isinstance(dig(target, "destination"), Mapping):
                    yield target["destination"]
            if isinstance(route.get("mirror"), Mapping):
                yield route["mirror"]
            for mirror in items(route.get("mirrors")):
                if isinstance(dig(mirror, "destination"), Mapping):
                    yield mirror["destination"]


def _defined_subsets(resources: Sequence[PolicyResource]) -> dict[str, set[str]]:
    subsets: dict[str, set[str]] = {}
    for rule in resources:
        if not is_istio(rule.props, DESTINATION_RULE_KIND):
            continue
        host = full_host(str(dig(rule.props, "spec", "host") or ""), _namespace(rule))
        names = {
            str(s.get("name")) for s in items(dig(rule.props, "spec", "subsets")) if isinstance(s, Mapping)
        }
        subsets.setdefault(host, set()).update(names)
    return subsets


def _undefined_subsets(args: StackValidationArgs, report: ReportViolation) -> None:
    defined = _defined_subsets(args.resources)
    for service in args.resources:
        if not is_istio(service.props, VIRTUAL_SERVICE_KIND):
            continue
        for destination in _route_destinations(dig(service.props, "spec") or {}):
            subset = destination.get("subset")
            if not subset:
                continue
            host = full_host(str(destination.get("host") or ""), _namespace(service))
            if subset not in defined.get(host, set()):
                known = ", ".join(sorted(defined.get(host, set()))) or "no DestinationRule"
                report(
                    f"It routes to subset {subset!r} of {host}, which no DestinationRule "
                    f"defines (defined: {known}); Envoy would answer 503 for that route.",
                    service.urn,
                )


virtual_service_subsets_defined = StackValidationPolicy(
    name="virtualservice-subsets-defined",
    description="Every subset a VirtualService routes or mirrors to is defined by a DestinationRule for that host.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_undefined_subsets,
)


# --- advisory -------------------------------------------------------------------------------------------


def _selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    match = dig(selector, "matchLabels") or {}
    expressions = items(dig(selector, "matchExpressions"))
    return (
        bool(match or expressions)
        and all(labels.get(k) == v for k, v in match.items())
        and all(_expression_holds(e, labels) for e in expressions)
    )


def _expression_holds(expression: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    key, operator = expression.get("key"), expression.get("operator")
    values = [str(v) for v in items(expression.get("values"))]
    return {
        "In": lambda: labels.get(key) in values,
        "NotIn": lambda: labels.get(key) not in values,
        "Exists": lambda: key in labels,
        "DoesNotExist": lambda: key not in labels,
    }.get(str(operator), lambda: False)()


def _missing_pdbs(args: StackValidationArgs, report: ReportViolation) -> None:
    budgets = [r for r in args.resources if r.resource_type == PDB]
    for deployment in args.resources:
        if deployment.resource_type != DEPLOYMENT:
            continue
        labels = dig(deployment.props, "spec", "template", "metadata", "labels") or {}
        covered = any(
            _namespace(b) == _namespace(deployment)
            and _selects(dig(b.props, "spec", "selector") or {}, labels)
            for b in budgets
        )
        if not covered:
            report(
                "No PodDisruptionBudget selects its pods, so a node drain may evict "
                "every replica of a model at once.",
                deployment.urn,
            )


pdb_per_deployment = StackValidationPolicy(
    name="pdb-per-deployment",
    description="Every Deployment's pods are covered by a PodDisruptionBudget.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_missing_pdbs,
)


def topology_problems(
    _type: str, props: Mapping[str, Any], spec: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterator[str]:
    if not items(spec.get("topologySpreadConstraints")):
        yield "It has no topologySpreadConstraints, so its replicas may all land on one node or zone."


topology_spread = ResourceValidationPolicy(
    name="topology-spread",
    description="Deployments spread their replicas across nodes or zones.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=pod_policy(topology_problems, {DEPLOYMENT}),
)


def request_problems(
    _type: str, props: Mapping[str, Any], spec: Mapping[str, Any], _config: Mapping[str, Any]
) -> Iterator[str]:
    for kind, container in containers(spec):
        requests = dig(container, "resources", "requests") or {}
        limits = dig(container, "resources", "limits") or {}
        missing = [f"requests.{r}" for r in ("cpu", "memory") if r not in requests]
        missing += ["limits.memory"] if "memory" not in limits else []
        if missing:
            yield (
                f"The {kind} {container.get('name')!r} does not set {', '.join(missing)}; "
                "unset resources make it the first evicted and let it starve its neighbours."
            )


resource_requests_set = ResourceValidationPolicy(
    name="resource-requests-set",
    description="Every container sets CPU and memory requests and a memory limit.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=pod_policy(request_problems),
)


POLICIES: tuple[ResourceValidationPolicy | StackValidationPolicy, ...] = (
    images_by_digest,
    probes_on_exposed_ports,
    accelerators_requested_whole,
    restricted_pod_security,
    no_public_services,
    hpa_managed_without_replicas,
    virtual_service_subsets_defined,
    hpa_targets_exist,
    pdb_per_deployment,
    topology_spread,
    resource_requests_set,
)
"""Every policy of the pack, mandatory ones first."""
