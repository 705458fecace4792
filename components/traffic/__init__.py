"""Traffic: per-model routing (VirtualService, DestinationRule), access (mTLS, AuthorizationPolicy) and the
smoke gate that holds traffic until each new version answered its golden requests."""

from components.traffic.access import ISTIO_SECURITY, namespace_peer_authentication_manifest
from components.traffic.policy import TrafficPolicy, TrafficPolicyArgs
from components.traffic.smoke_gate import SmokeGate, SmokeGateArgs

__all__ = [
    "ISTIO_SECURITY",
    "SmokeGate",
    "SmokeGateArgs",
    "TrafficPolicy",
    "TrafficPolicyArgs",
    "namespace_peer_authentication_manifest",
]
