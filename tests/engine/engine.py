"""The real Pulumi engine as the tests drive it: the CLI, a file backend, a passphrase, a project copy.

The toolchain comes from `scripts/engine-toolchain.sh` (official binaries on PATH, else built from Go
modules into a cache outside the repository). Every command runs network-free: its own PULUMI_HOME with
the Kubernetes provider installed from the built binary, no update check, no plugin downloads, a
`file://` backend and a passphrase secrets provider. The project runs from a copy of the working tree
in a git repository of its own, so tests can commit catalog changes and revert them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.locks import one_at_a_time

ROOT = Path(__file__).resolve().parents[2]
RENDER_DIR = "build/dev-manifests"  # Pulumi.dev.yaml: modelstack:kubernetes.renderDir
PASSPHRASE = "modelstack-engine-tests"
COMMAND_TIMEOUT_S = 600
SKIP_CHECKPOINTS = "PULUMI_SKIP_CHECKPOINTS"


class EngineError(RuntimeError):
    """A pulumi command failed; the message carries its command line and output."""


@dataclass(frozen=True)
class Toolchain:
    path: str
    """Folders to put first on PATH: the CLI and its Python language host."""
    provider: Path
    kubernetes_version: str

    @property
    def pulumi(self) -> Path:
        return Path(self.path.split(os.pathsep)[0]) / "pulumi"


def build_toolchain() -> Toolchain:
    """Run the installer (seconds when cached); its progress goes to the terminal when not captured."""
    with one_at_a_time("engine-toolchain"):  # parallel workers: one build of the cache at a time
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "engine-toolchain.sh")],
            capture_output=True,
            text=True,
            check=False,
            timeout=5400,
        )
    if result.returncode != 0:
        raise EngineError(f"scripts/engine-toolchain.sh failed:\n{result.stderr[-4000:]}")
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return Toolchain(values["path"], Path(values["provider"]), values["kubernetes_version"])


def copy_project(dest: Path) -> Path:
    """The working tree (tracked and untracked-but-not-ignored files) as a fresh one-commit git repo."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        source = ROOT / rel
        if not source.is_file():
            continue  # deleted in the working tree but still in the index
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    # The program's interpreter: the repository's pinned environment (Pulumi.yaml: virtualenv .venv).
    (dest / ".venv").symlink_to(ROOT / ".venv")
    git(dest, "init", "--quiet", "--initial-branch=main")
    git(dest, "add", "--all")
    git(dest, "commit", "--quiet", "-m", "base")
    return dest


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "engine-tests",
        "GIT_AUTHOR_EMAIL": "engine-tests@localhost",
        "GIT_COMMITTER_NAME": "engine-tests",
        "GIT_COMMITTER_EMAIL": "engine-tests@localhost",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env
    ).stdout


@dataclass
class Pulumi:
    """One PULUMI_HOME and backend; `run` executes the real CLI in a project directory."""

    toolchain: Toolchain
    home: Path
    backend: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            # An ambient kubeconfig or Pulumi login must never reach these runs.
            if not key.startswith(("PULUMI_", "KUBECONFIG"))
        }
        env.update(
            {
                "PATH": os.pathsep.join(
                    [self.toolchain.path, str(ROOT / ".venv" / "bin"), env.get("PATH", "")]
                ),
                "PULUMI_HOME": str(self.home),
                "PULUMI_BACKEND_URL": f"file://{self.backend}",
                "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
                "PULUMI_SKIP_CONFIRMATIONS": "true",
                "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
                "NO_COLOR": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def run(
        self, cwd: Path, *args: str, check: bool = True, timeout: int = COMMAND_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.toolchain.pulumi), "--non-interactive", "--color=never", *args],
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise EngineError(
                f"pulumi {' '.join(args)} exited {result.returncode} in {cwd}\n"
                f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
            )
        return result

    def with_backend(self, backend: Path) -> Pulumi:
        """The same home and plugins, another state: stacks of two project copies never share one."""
        backend.mkdir(parents=True, exist_ok=True)
        return Pulumi(self.toolchain, self.home, backend, dict(self.extra_env))

    def install_provider(self) -> None:
        """Install the built provider as the plugin version the Python SDK requests (no download)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.backend.mkdir(parents=True, exist_ok=True)
        self.run(
            self.home,
            "plugin",
            "install",
            "resource",
            "kubernetes",
            self.toolchain.kubernetes_version,
            "--file",
            str(self.toolchain.provider),
        )

    def preview_json(self, cwd: Path, stack: str, *extra: str) -> dict[str, Any]:
        """`pulumi preview --json` as the pull-request workflow runs it: without the checkpoints a
        preview discards (test_preview_checkpoints.py shows it plans the same and writes no state)."""
        skipping = Pulumi(
            self.toolchain, self.home, self.backend, {SKIP_CHECKPOINTS: "true", **self.extra_env}
        )
        result = skipping.run(cwd, "preview", "--stack", stack, "--json", *extra)
        return json.loads(result.stdout)

    def outputs(self, cwd: Path, stack: str, *extra: str) -> dict[str, Any]:
        return json.loads(self.run(cwd, "stack", "output", "--stack", stack, "--json", *extra).stdout)


# --- reading plans and renders -----------------------------------------------------------------------

K8S_TYPE_PREFIX = "kubernetes:"


ObjectId = tuple[str, str, str, str]


def object_id(body: dict[str, Any]) -> ObjectId:
    """(group, kind, namespace, name): how the cluster, and so both plans, identify an object."""
    meta = body.get("metadata") or {}
    api_version = body["apiVersion"]
    group = api_version.split("/")[0] if "/" in api_version else "core"
    return (group, body["kind"], meta.get("namespace") or "", meta["name"])


def engine_operations(preview: dict[str, Any]) -> dict[ObjectId, str]:
    """The Kubernetes objects a real `pulumi preview --json` touches, with the operation on each.

    Components and the provider are left out (the offline plan shows objects only); `same` steps too.
    A replace appears as create-replacement/delete-replaced/replace steps: all read as `replace`.
    """
    operations: dict[ObjectId, str] = {}
    for step in preview.get("steps", []):
        op = step["op"]
        urn = step["urn"]
        resource_type = urn.split("::")[2].split("$")[-1]
        if not resource_type.startswith(K8S_TYPE_PREFIX) or resource_type.startswith("pulumi:providers"):
            continue
        if resource_type.startswith("pulumi:providers:") or op in ("same", "read", "refresh"):
            continue
        state = step.get("newState") or step.get("oldState") or {}
        inputs = state.get("inputs") or {}
        if "metadata" not in inputs:
            state = step.get("oldState") or {}
            inputs = state.get("inputs") or {}
        key = object_id(inputs)
        if op in ("create-replacement", "delete-replaced", "replace"):
            op = "replace"
        operations[key] = op
    return operations


def offline_operations(plan: dict[str, Any]) -> dict[ObjectId, str]:
    """The same view of `modelstack preview --json`: each step's object with its action."""
    operations: dict[ObjectId, str] = {}
    for step in plan["steps"]:
        # `object` is the render's file key: <namespace|_cluster>/<Kind>.<group>/<name>
        namespace, kind_group, name = step["object"].split("/")
        kind, group = kind_group.split(".", 1)
        operations[(group, kind, "" if namespace == "_cluster" else namespace, name)] = step["action"]
    return operations


def read_objects(directory: Path) -> dict[ObjectId, dict[str, Any]]:
    """Every Kubernetes object in the YAML files under `directory`, by identity."""
    objects: dict[ObjectId, dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and "kind" in document:
                key = object_id(document)
                if key in objects:
                    raise AssertionError(f"{key} is written twice under {directory}")
                objects[key] = document
    return objects


@dataclass(frozen=True)
class StepEvent:
    """One step of a deployment as the engine reports it: `start` (resourcePreEvent) or `done`
    (resOutputsEvent), with its operation and the resource's logical name (the URN's last part)."""

    sequence: int
    phase: str
    op: str
    name: str
    type: str = ""
    """The resource's type token, e.g. `kubernetes:apps/v1:Deployment` (several kinds share a name)."""


_PHASES = {"resourcePreEvent": "start", "resOutputsEvent": "done"}


def step_events(event_log: str) -> list[StepEvent]:
    """The step events of an `--event-log` file (one JSON engine event a line), in the engine's order."""
    events: list[StepEvent] = []
    for line in filter(None, (raw.strip() for raw in event_log.splitlines())):
        event = json.loads(line)
        for key, phase in _PHASES.items():
            if key in event:
                metadata = event[key]["metadata"]
                name = metadata["urn"].rsplit("::", 1)[-1]
                events.append(
                    StepEvent(int(event["sequence"]), phase, metadata["op"], name, metadata.get("type", ""))
                )
    return sorted(events, key=lambda e: e.sequence)


def step_at(events: list[StepEvent], phase: str, op: str, name: str, kind: str | None = None) -> int:
    """The sequence number of one step's start or end (of the object of `kind` when names are shared);
    fails naming what the run did instead."""
    found = [
        e.sequence
        for e in events
        if (e.phase, e.op, e.name) == (phase, op, name) and (kind is None or e.type.endswith(f":{kind}"))
    ]
    if len(found) != 1:
        steps = sorted({(e.op, e.name) for e in events if e.op not in ("same", "read")})
        raise AssertionError(f"expected one {phase} of {op} {name}, found {len(found)}; steps: {steps}")
    return found[0]


# --- stacks of project copies -----------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    """A stack of a project copy, on a backend of its own."""

    engine: Pulumi
    project: Path
    name: str = "dev"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.engine.run(self.project, *args, check=check)

    def up(self) -> subprocess.CompletedProcess[str]:
        return self.run("up", "--stack", self.name, "--yes", "--skip-preview")

    def preview(self, *extra: str) -> dict[str, Any]:
        return self.engine.preview_json(self.project, self.name, *extra)

    def up_with_events(self) -> list[StepEvent]:
        """`pulumi up` writing the engine's event stream, read back as step events. The CLI registers
        `--event-log` only with PULUMI_DEBUG_COMMANDS set (pkg/cmd/pulumi/operations/up.go)."""
        log = self.project.parent / f"events-{self.name}.jsonl"
        log.unlink(missing_ok=True)
        engine = Pulumi(
            self.engine.toolchain,
            self.engine.home,
            self.engine.backend,
            {**self.engine.extra_env, "PULUMI_DEBUG_COMMANDS": "true"},
        )
        engine.run(
            self.project, "up", "--stack", self.name, "--yes", "--skip-preview", "--event-log", str(log)
        )
        return step_events(log.read_text(encoding="utf-8"))

    def destroy(self) -> None:
        self.run("destroy", "--stack", self.name, "--yes", "--skip-preview", check=False)
        self.run("stack", "rm", self.name, "--yes", "--force", check=False)


@contextmanager
def new_stack(engine: Pulumi, where: Path, name: str = "dev") -> Iterator[Stack]:
    """`pulumi stack init` in a fresh project copy; destroyed and removed afterwards whatever happened."""
    stack = Stack(engine.with_backend(where / "state"), copy_project(where / "modelstack"), name)
    stack.run("stack", "init", name)
    try:
        yield stack
    finally:
        stack.destroy()


def offline_render(project: Path, stack: str, out: Path) -> tuple[dict[ObjectId, dict[str, Any]], Any]:
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "modelstack"), "render", "--stack", stack, "--out", str(out)],
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
    )
    return read_objects(out), json.loads((out / "outputs.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Deployed:
    stack: Stack
    first_preview: dict[str, Any]
    offline_objects: dict[ObjectId, dict[str, Any]]
    offline_outputs: Any
