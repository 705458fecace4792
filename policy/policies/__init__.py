"""modelstack guardrails as CrossGuard policies, on the camelCase props of Kubernetes resources.

One module per policy family (`images`, `probes`, `accelerators`, `pod_security`, `services`,
`autoscaling` and `istio` for the stack policies, `advisory`), sharing `props` for reading resources;
this module only lists them, mandatory ones first. Kept free of the pack itself (`../__main__.py`) and of
modelstack's code, so that the Pulumi policy host (`from policies import POLICIES`), the unit tests and
`modelstack check` (which loads this package from its file, under another name) all import it: the
modules import each other relatively for that reason, and nothing outside the package.
"""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

from .accelerators import accelerators_requested_whole
from .advisory import pdb_per_deployment, resource_requests_set, topology_spread
from .autoscaling import hpa_managed_without_replicas, hpa_targets_exist, one_autoscaler_per_deployment
from .images import images_by_digest
from .istio import destination_rules_merge_whole, virtual_service_subsets_defined
from .pod_security import restricted_pod_security
from .probes import probes_on_exposed_ports
from .services import no_public_services

POLICIES: tuple[ResourceValidationPolicy | StackValidationPolicy, ...] = (
    images_by_digest,
    probes_on_exposed_ports,
    accelerators_requested_whole,
    restricted_pod_security,
    no_public_services,
    hpa_managed_without_replicas,
    one_autoscaler_per_deployment,
    virtual_service_subsets_defined,
    destination_rules_merge_whole,
    hpa_targets_exist,
    pdb_per_deployment,
    topology_spread,
    resource_requests_set,
)
"""Every policy of the pack, mandatory ones first."""
