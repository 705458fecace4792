"""Synthetic but realistic catalogs and stack configurations of N models, and projects holding them.

Every model has two versions (a stable one at 90 % and a canary at 10 %), callers, an analysis block and,
by position, one of three archetypes that mirror `models.yaml`: an LLM on whole H100s (vLLM, autoscaled),
a detector on MIG slices (Triton, autoscaled) or a CPU model (Triton, fixed replicas). Every 25th model's
canary is fp16 with a smoke test, every 5th is exposed through the gateway. Everything is deterministic
in N, so two catalogs of the same N render the same objects.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import yaml

STACK = "bench"
NAMESPACE = "ml-bench"
STABLE_WEIGHT = 90
CANARY_WEIGHT = 10
ARCHETYPES = ("llm", "llm", "llm", "llm", "mig", "mig", "mig", "cpu", "cpu", "cpu")
MIG_PROFILES = ("1g.10gb", "2g.20gb", "3g.40gb")
SMOKE_EVERY = 25
EXPOSE_EVERY = 5
SMOKE_RUNNER = "registry.ml.example.com/mirror/python@sha256:" + "8" * 64

_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def digest_ref(repository: str, *parts: object) -> str:
    """A reference pinned by a digest derived from `parts` (deterministic, unique per image)."""
    blob = "/".join(str(p) for p in (repository, *parts)).encode()
    return f"{repository}@sha256:{hashlib.sha256(blob).hexdigest()}"


def archetype(index: int) -> str:
    return ARCHETYPES[index % len(ARCHETYPES)]


def model_name(index: int) -> str:
    return f"{archetype(index)}-{index:04d}"


def _llm_version(name: str, version: str, weight: int) -> dict[str, Any]:
    return {
        "image": digest_ref("registry.ml.example.com/llm/chat-vllm", name, version),
        "weight": weight,
        "nodePool": "gpu-h100",
        "resources": {"cpu": "8", "memory": "64Gi", "gpu": 1},
        "replicas": {"min": 1, "max": 4},
        "precision": "bf16",
        "args": ["--model", "/models/llm", "--served-model-name", name, "--max-model-len", "8192"],
        "config": {"max_num_seqs": "64" if version == "v1" else "96"},
        "env": [
            {"name": "VLLM_MAX_NUM_SEQS", "fromConfig": "max_num_seqs"},
            {"name": "HF_TOKEN", "fromSecret": {"name": "huggingface", "key": "token"}},
        ],
        "modelWeights": {
            "volume": {"csi": {"driver": "s3.csi.aws.com", "volumeHandle": f"{name}-{version}"}},
            "mountPath": "/models",
        },
    }


def _mig_version(index: int, name: str, version: str, weight: int) -> dict[str, Any]:
    return {
        "image": digest_ref("registry.ml.example.com/vision/detector-triton", name, version),
        "weight": weight,
        "nodePool": "gpu-h100-mig",
        "resources": {
            "cpu": "4",
            "memory": "16Gi",
            "gpu": 1,
            "migProfile": MIG_PROFILES[index % len(MIG_PROFILES)],
        },
        "replicas": {"min": 1, "max": 2},
        "loadTimeoutSeconds": 300,
        "args": ["tritonserver", "--model-repository=/models", "--strict-readiness=true"],
        "modelWeights": {
            "image": digest_ref("registry.ml.example.com/vision/detector-weights", name, version),
            "mountPath": "/models",
        },
    }


def _cpu_version(name: str, version: str, weight: int) -> dict[str, Any]:
    return {
        "image": digest_ref("registry.ml.example.com/search/embedder", name, version),
        "weight": weight,
        "nodePool": "cpu-general",
        "resources": {"cpu": "1", "memory": "1Gi"},
        "replicas": 2,
        "loadTimeoutSeconds": 60,
        "config": {"model_name": name},
        "env": [{"name": "MODEL_NAME", "fromConfig": "model_name"}],
    }


def _smoke_test() -> dict[str, Any]:
    return {
        "requests": [
            {
                "name": "golden",
                "path": "/v2/models/detector/infer",
                "body": {
                    "inputs": [{"name": "images", "shape": [1, 2], "datatype": "FP32", "data": [0.1, 0.2]}]
                },
                "expect": {"outputs.0.data": [0.9, 0.1]},
                "tolerance": {"abs": 0.02},
            }
        ]
    }


def version_body(index: int, version: str, weight: int) -> dict[str, Any]:
    """The catalog entry of `version` of model `index`, with `weight` percent of its traffic."""
    name, kind = model_name(index), archetype(index)
    if kind == "llm":
        body = _llm_version(name, version, weight)
    elif kind == "mig":
        body = _mig_version(index, name, version, weight)
    else:
        body = _cpu_version(name, version, weight)
    if version != "v1" and index % SMOKE_EVERY == 4:
        body["precision"] = "fp16"
        body["smokeTest"] = _smoke_test()
    return body


def model_body(index: int) -> dict[str, Any]:
    kind = archetype(index)
    model: dict[str, Any] = {
        "description": f"Synthetic {kind} model {index}",
        "owner": f"team-{index % 17}",
        "server": "vllm" if kind == "llm" else "triton",
        "callers": [
            {"namespace": "apps", "serviceAccount": f"client-{index % 7}"},
            {"namespace": "batch-jobs"},
        ],
        "analysis": {"window": "5m", "p99LatencyMs": 800, "errorRatePercent": 1, "steps": [10, 50, 100]},
        "versions": {
            "v1": version_body(index, "v1", STABLE_WEIGHT),
            "v2": version_body(index, "v2", CANARY_WEIGHT),
        },
    }
    if kind != "cpu":
        model["autoscaling"] = {"target": 4 if kind == "llm" else 8}
    if index % EXPOSE_EVERY == 0:
        model["expose"] = {}
    return model


def synthetic_catalog(n: int) -> dict[str, Any]:
    """A valid `models.yaml` document with `n` models."""
    return {"apiVersion": "modelstack/v1", "models": {model_name(i): model_body(i) for i in range(n)}}


def _pool(name: str, max_nodes: int, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "provisioner": "karpenter",
        "zones": ["us-east-1a", "us-east-1b"],
        "minNodes": 1,
        "maxNodes": max_nodes,
        **fields,
    }


def synthetic_stack_config(n: int) -> dict[str, Any]:
    """`Pulumi.bench.yaml`: prod-like pools sized so that N models fit (capacity never fails the run)."""
    gpu_node = {"gpu": "H100-80GB", "gpusPerNode": 8, "instanceTypes": ["p5.48xlarge"]}
    gpu_size = {"cpuPerNode": 192, "memoryGibPerNode": 2048}
    gpu_class = {"nodeClass": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"}}
    max_nodes = n + 2
    return {
        "config": {
            "modelstack:namespace": NAMESPACE,
            "modelstack:kubernetes": {"target": "render", "renderDir": "build/bench-manifests"},
            "modelstack:buildImages": False,
            "modelstack:registry": {"server": "registry.ml.example.com", "prefix": "modelstack"},
            "modelstack:secrets": {"huggingface": ["token"]},
            "modelstack:istio": {
                "gateway": "istio-ingress/public-gateway",
                "gatewayServiceAccount": "istio-ingress/istio-ingressgateway",
                "domain": "models.example.com",
            },
            "modelstack:smokeRunnerImage": SMOKE_RUNNER,
            "modelstack:nodePools": [
                _pool("gpu-h100", max_nodes, migStrategy="none", **gpu_node, **gpu_size, **gpu_class),
                _pool(
                    "gpu-h100-mig",
                    max_nodes,
                    migStrategy="mixed",
                    migLayout={"3g.40gb": 1, "2g.20gb": 1, "1g.10gb": 2},
                    **gpu_node,
                    **gpu_size,
                    **gpu_class,
                ),
                _pool(
                    "cpu-general",
                    max_nodes,
                    instanceTypes=["m7i.4xlarge"],
                    cpuPerNode=16,
                    memoryGibPerNode=64,
                ),
            ],
        }
    }


def dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)


def write_project(directory: Path, catalog: dict[str, Any], stack_config: dict[str, Any]) -> Path:
    """A project directory the CLI and `run_program` accept: Pulumi.yaml, Pulumi.bench.yaml, models.yaml."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "Pulumi.yaml", directory / "Pulumi.yaml")
    (directory / f"Pulumi.{STACK}.yaml").write_text(dump(stack_config), encoding="utf-8")
    (directory / "models.yaml").write_text(dump(catalog), encoding="utf-8")
    return directory


def synthetic_project(directory: Path, n: int) -> Path:
    return write_project(directory, synthetic_catalog(n), synthetic_stack_config(n))
