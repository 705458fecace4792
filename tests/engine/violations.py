"""Test-only: the real program under a stack transformation that makes what the catalog refuses.

The catalog validator would reject each of these as input, so only a transformation of the registered
resources can produce them: an image by tag, a GPU pod that does not tolerate the GPU taint, and a
privileged container. The policy pack must catch each one, under the real engine and offline alike.
"""

from __future__ import annotations

from typing import Any

import pulumi

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
BY_TAG = ("llm-chat-v1", "registry.ml.example.com/llm/chat-vllm:latest")
UNTOLERATED_GPU_POD = "vision-detector-v7"
PRIVILEGED = "text-embedder-v1"


def _copied(props: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The props with fresh dicts along spec.template.spec.containers[0], and that pod spec.

    Only the path that is changed is copied: props hold Outputs (a built image's digest), which cannot
    be deep-copied outside serialization."""
    props = dict(props)
    spec = props["spec"] = dict(props["spec"])
    template = spec["template"] = dict(spec["template"])
    pod = template["spec"] = dict(template["spec"])
    containers = pod["containers"] = list(pod["containers"])
    first = containers[0] = dict(containers[0])
    first["securityContext"] = dict(first.get("securityContext") or {})
    return props, pod


def violate(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    if args.type_ != DEPLOYMENT:
        return None
    name = args.props["metadata"]["name"]
    props, pod = _copied(args.props)
    if name == BY_TAG[0]:
        pod["containers"][0]["image"] = BY_TAG[1]
    elif name == UNTOLERATED_GPU_POD:
        pod.pop("tolerations", None)
    elif name == PRIVILEGED:
        pod["containers"][0]["securityContext"]["privileged"] = True
    else:
        return None
    return pulumi.ResourceTransformationResult(props, args.opts)


PROGRAM = '''"""Test-only entry point: the real program under the violations transformation."""

import pulumi

from tests.engine.violations import violate

pulumi.runtime.register_stack_transformation(violate)

from components.program import main  # noqa: E402

main()
'''
