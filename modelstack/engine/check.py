"""Run the CrossGuard policy pack (policy/policies/) over an offline render, without the Pulumi CLI.

Each rendered manifest becomes the policy arguments Pulumi would pass: `resource_type` from apiVersion and
kind (`kubernetes:apps/v1:Deployment`, `kubernetes:networking.istio.io/v1:VirtualService`), props the
manifest's camelCase body. Resource policies see one object at a time; stack policies see them all.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from components.kubernetes_object import type_token as resource_type  # the token the program registers
from modelstack.engine.manifest import Manifest

POLICIES_PACKAGE = Path("policy") / "policies"
POLICIES_FILE = POLICIES_PACKAGE / "__init__.py"
_MODULE_NAME = "modelstack_policy_pack"


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: EnforcementLevel
    object: str
    """`Kind namespace/name` of the offending object, or `stack` for a stack-wide finding."""
    message: str

    @property
    def mandatory(self) -> bool:
        return self.enforcement is EnforcementLevel.MANDATORY

    def __str__(self) -> str:
        return f"[{self.enforcement.value}] {self.policy}: {self.object}: {self.message}"


def load_policies(root: Path) -> Sequence[ResourceValidationPolicy | StackValidationPolicy]:
    """The POLICIES of `<root>/policy/policies/`, the very package the Pulumi policy host runs."""
    module = sys.modules.get(_MODULE_NAME)
    if module is None or Path(module.__file__ or "") != (root / POLICIES_FILE).resolve():
        module = _import(root / POLICIES_FILE)
    return tuple(module.POLICIES)


def _import(path: Path) -> ModuleType:
    # A package: its family modules import each other relatively, so they load under this name too.
    spec = importlib.util.spec_from_file_location(
        _MODULE_NAME, path.resolve(), submodule_search_locations=[str(path.resolve().parent)]
    )
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no policy pack at {path}")
    for name in [n for n in sys.modules if n.startswith(f"{_MODULE_NAME}.")]:
        del sys.modules[name]  # the family modules of a pack loaded from another root
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


def describe(manifest: Manifest) -> str:
    where = f"{manifest.namespace}/{manifest.name}" if manifest.namespace else manifest.name
    return f"{manifest.kind} {where}"


def _urn(manifest: Manifest) -> str:
    return f"urn:pulumi:offline::modelstack::{resource_type(manifest.api_version, manifest.kind)}::{manifest.key}"


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _resource(manifest: Manifest) -> PolicyResource:
    kind = resource_type(manifest.api_version, manifest.kind)
    return PolicyResource(kind, manifest.body, _urn(manifest), manifest.name, _options(), None, None, [], {})


def _level(policy: ResourceValidationPolicy | StackValidationPolicy) -> EnforcementLevel:
    # The pack's default (pulumi-policy): advisory unless the policy says otherwise.
    return policy.enforcement_level or EnforcementLevel.ADVISORY


def _resource_args(manifest: Manifest) -> ResourceValidationArgs:
    kind = resource_type(manifest.api_version, manifest.kind)
    return ResourceValidationArgs(kind, manifest.body, _urn(manifest), manifest.name, _options(), None)


def check_manifests(
    manifests: Sequence[Manifest], policies: Iterable[ResourceValidationPolicy | StackValidationPolicy]
) -> list[Violation]:
    """Every violation of every policy over the manifests, in policy order."""
    by_urn = {_urn(m): describe(m) for m in manifests}
    violations: list[Violation] = []

    def reporter(policy: ResourceValidationPolicy | StackValidationPolicy, subject: str) -> ReportViolation:
        def report(message: str, urn: str | None) -> None:
            # Like Pulumi: a violation is about the resource under validation unless it names another.
            violations.append(Violation(policy.name, _level(policy), by_urn.get(urn or "", subject), message))

        return report

    for policy in policies:
        if _level(policy) is EnforcementLevel.DISABLED:
            continue
        if isinstance(policy, StackValidationPolicy):
            policy.validate(StackValidationArgs([_resource(m) for m in manifests]), reporter(policy, "stack"))
            continue
        for manifest in manifests:
            policy.validate(_resource_args(manifest), reporter(policy, describe(manifest)))
    return violations


def read_manifests(directory: Path) -> list[Manifest]:
    """Every Kubernetes object in the YAML files under `directory` (a render, or any manifests)."""
    manifests = []
    for path in sorted(directory.rglob("*.y*ml")):
        for body in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not isinstance(body, dict) or "apiVersion" not in body or "kind" not in body:
                continue
            meta = body.get("metadata") or {}
            manifests.append(
                Manifest(
                    body["apiVersion"], body["kind"], meta.get("namespace"), meta.get("name", path.stem), body
                )
            )
    return manifests
