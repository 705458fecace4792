"""One Kubernetes object as a resource of the kubernetes provider, registered without pulumi-kubernetes'
generated classes.

Every component declares its objects through `KubernetesObject`: the type token, the inputs and the
provider version are those pulumi-kubernetes' own class for the kind registers (apiVersion, kind and the
manifest's fields, `kubernetes:<group>/<version>:<Kind>`, with `core` for the core group), so the engine
and the provider see the same registration. Two measured costs of the generated classes are left out:

- importing them: `pulumi_kubernetes.core.v1` alone defines every core input and output type (~0.15 s of
  each run that declares one object);
- registering through them: the SDK serializes a typed `*Args` object by walking every nested value
  against its annotated input type, which is more than half of the SDK's whole cost per object (the
  flat floor of docs/performance.md: 17.0 s against 7.6 s for the same 21,727 objects at 1,000 models).

The generated classes also attach aliases to some kinds (a Deployment to its `apps/v1beta1`,
`apps/v1beta2` and `extensions/v1beta1` tokens). Aliases only help the engine find state registered
under an older token; a modelstack stack never registered one, so there is nothing for them to find.
`tests/foundation/test_kubernetes_object.py` holds each kind to the registration of pulumi-kubernetes'
class, and the real-engine tests run it under the real engine and provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes._utilities as _provider_package


def type_token(api_version: str, kind: str) -> str:
    """The token pulumi-kubernetes registers a kind under: `kubernetes:apps/v1:Deployment`,
    `kubernetes:core/v1:ConfigMap`, `kubernetes:networking.istio.io/v1:VirtualService`."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{kind}"


# The provider plugin a registration asks for: the version of the installed pulumi-kubernetes package, as
# its generated classes ask (they set `version` and `plugin_download_url` in every resource's options).
_PROVIDER_DEFAULTS = pulumi.ResourceOptions(
    version=_provider_package.get_version(),  # type: ignore[no-untyped-call]
    plugin_download_url=_provider_package.get_plugin_download_url(),  # type: ignore[no-untyped-call]
)


class KubernetesObject(pulumi.CustomResource):
    """A Kubernetes object of any kind, built-in or custom, declared from its manifest."""

    # The SDK resolves one output per input property (as the generated classes' `metadata` is): the
    # object's metadata as the provider returns it, known once the object exists.
    metadata: pulumi.Output[Any]

    def __init__(
        self,
        resource_name: str,
        api_version: str,
        kind: str,
        manifest: Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
        props.update((key, value) for key, value in manifest.items() if key not in ("apiVersion", "kind"))
        super().__init__(
            type_token(api_version, kind),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(_PROVIDER_DEFAULTS, opts),
        )
