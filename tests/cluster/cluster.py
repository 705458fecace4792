"""A real Kubernetes control plane on loopback, with a simulated node fleet, as the tests drive it.

etcd, kube-apiserver (RBAC, the default admission chain with PodSecurity), kube-controller-manager and
kube-scheduler are the real programs, built by `scripts/cluster-toolchain.sh`; KWOK plays the kubelets:
it keeps the Node objects the tests create Ready and moves the pods bound to them through their life
(Running and Ready, Job pods Succeeded, deleted pods gone). No container ever runs.

Everything listens on 127.0.0.1 on ports picked free at start; each component runs in its own process
group, logs to `<workdir>/logs/`, and is stopped (SIGTERM, then SIGKILL) within a bounded time, also
when the interpreter exits without calling `stop`. Webhooks and APIServices are never installed: the
API server would dial Service addresses off loopback.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT.parent / "shared" / "schemas"
DEFAULT_CONTEXT = "modelstack-local"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"


class ClusterError(RuntimeError):
    """The cluster could not be built, started or asked; the message names the step and its log."""


# --- toolchain -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterToolchain:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kwok: Path
    kwok_stages: Path
    kubernetes_version: str


def build_cluster_toolchain(timeout: float = 5400) -> ClusterToolchain:
    """Run the installer (seconds when cached; its progress goes to stderr)."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "cluster-toolchain.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise ClusterError(f"scripts/cluster-toolchain.sh failed:\n{result.stderr[-4000:]}")
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return ClusterToolchain(
        etcd=Path(values["etcd"]),
        kube_apiserver=Path(values["kube_apiserver"]),
        kube_controller_manager=Path(values["kube_controller_manager"]),
        kube_scheduler=Path(values["kube_scheduler"]),
        kwok=Path(values["kwok"]),
        kwok_stages=Path(values["kwok_stages"]),
        kubernetes_version=values["kubernetes_version"],
    )


# --- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Component:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


_LIVE: list[Component] = []


def _kill_group(component: Component, timeout: float) -> None:
    """SIGTERM the component's process group, SIGKILL it if it is still there after `timeout`."""
    process = component.process
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    # Children of the leader may outlive it: the whole group goes, whatever the leader did.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@atexit.register
def _stop_leftovers() -> None:
    for component in reversed(_LIVE):
        _kill_group(component, 2)
    _LIVE.clear()


# --- certificates and credentials ----------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args)} failed: {result.stderr[-2000:]}")


def make_pki(pki: Path) -> None:
    """A CA, the API server's serving certificate for 127.0.0.1/localhost, the service-account key pair."""
    pki.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "7",
        "-subj",
        "/CN=modelstack-local-ca",
        cwd=pki,
    )
    (pki / "serving.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
        "DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "apiserver.key",
        "-out",
        "apiserver.csr",
        "-subj",
        "/CN=kube-apiserver",
        cwd=pki,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        "apiserver.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "apiserver.crt",
        "-days",
        "7",
        "-extfile",
        "serving.ext",
        cwd=pki,
    )
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def kubeconfig_document(server: str, ca_pem: bytes, token: str, context: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": context,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": f"{context}-admin", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": f"{context}-admin"}}],
        "current-context": context,
    }


# --- the cluster ---------------------------------------------------------------------------------


@dataclass
class Ports:
    etcd_client: int = field(default_factory=free_port)
    etcd_peer: int = field(default_factory=free_port)
    apiserver: int = field(default_factory=free_port)
    controller_manager: int = field(default_factory=free_port)
    scheduler: int = field(default_factory=free_port)
    kwok: int = field(default_factory=free_port)


@dataclass
class LocalCluster:
    """One control plane in `workdir`; `start()` returns when every component reports healthy."""

    toolchain: ClusterToolchain
    workdir: Path
    context: str = DEFAULT_CONTEXT
    ports: Ports = field(default_factory=Ports)
    components: list[Component] = field(default_factory=list)
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    started_s: float | None = None

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports.apiserver}"

    @property
    def pki(self) -> Path:
        return self.workdir / "pki"

    # -- lifecycle --

    def start(self, timeout: float = START_TIMEOUT_S) -> LocalCluster:
        began = time.monotonic()
        deadline = began + timeout
        try:
            self._start(deadline)
        except BaseException:
            self.stop()
            raise
        self.started_s = time.monotonic() - began
        return self

    def _start(self, deadline: float) -> None:
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        make_pki(self.pki)
        (self.workdir / "tokens.csv").write_text(
            f'{self.token},modelstack-admin,uid-admin,"system:masters"\n'
        )
        self.kubeconfig.write_text(
            yaml.safe_dump(
                kubeconfig_document(self.server, (self.pki / "ca.crt").read_bytes(), self.token, self.context)
            )
        )
        self.kubeconfig.chmod(0o600)
        p = self.ports
        etcd = self._spawn(
            "etcd",
            [
                str(self.toolchain.etcd),
                "--name=modelstack-local",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{p.etcd_client}",
                f"--advertise-client-urls=http://127.0.0.1:{p.etcd_client}",
                f"--listen-peer-urls=http://127.0.0.1:{p.etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{p.etcd_peer}",
                f"--initial-cluster=modelstack-local=http://127.0.0.1:{p.etcd_peer}",
                # Test data only: losing it on a crash is fine, waiting for fsync is not.
                "--unsafe-no-fsync",
                "--listen-metrics-urls=",
                "--log-level=warn",
            ],
        )
        self._wait_http(etcd, f"http://127.0.0.1:{p.etcd_client}/health", deadline)
        apiserver = self._spawn(
            "kube-apiserver",
            [
                str(self.toolchain.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{p.etcd_client}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={p.apiserver}",
                f"--cert-dir={self.pki}",
                f"--tls-cert-file={self.pki / 'apiserver.crt'}",
                f"--tls-private-key-file={self.pki / 'apiserver.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=true",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={self.pki / 'sa.pub'}",
                f"--service-account-signing-key-file={self.pki / 'sa.key'}",
                f"--token-auth-file={self.workdir / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                # The `kubernetes` Service's endpoint would be 127.0.0.1, which Endpoints refuse.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                "--v=1",
            ],
        )
        self._wait_http(apiserver, f"{self.server}/readyz", deadline, authorized=True)
        common = [
            f"--kubeconfig={self.kubeconfig}",
            f"--authentication-kubeconfig={self.kubeconfig}",
            f"--authorization-kubeconfig={self.kubeconfig}",
            "--bind-address=127.0.0.1",
            "--leader-elect=false",
            "--profiling=false",
            "--v=1",
        ]
        controller_manager = self._spawn(
            "kube-controller-manager",
            [
                str(self.toolchain.kube_controller_manager),
                *common,
                f"--secure-port={p.controller_manager}",
                f"--cert-dir={self.workdir / 'pki-kcm'}",
                "--controllers=*",
                f"--service-account-private-key-file={self.pki / 'sa.key'}",
                f"--root-ca-file={self.pki / 'ca.crt'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
            ],
        )
        scheduler = self._spawn(
            "kube-scheduler",
            [
                str(self.toolchain.kube_scheduler),
                *common,
                f"--secure-port={p.scheduler}",
                f"--cert-dir={self.workdir / 'pki-scheduler'}",
            ],
        )
        kwok = self._spawn(
            "kwok",
            [
                str(self.toolchain.kwok),
                f"--kubeconfig={self.kubeconfig}",
                f"--config={self.toolchain.kwok_stages}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector={}={}".format(*KWOK_NODE_ANNOTATION),
                f"--server-address=127.0.0.1:{p.kwok}",
                "--node-lease-duration-seconds=40",
                f"--cidr={POD_CIDR}",
                "--node-ip=10.255.0.1",
            ],
        )
        self._wait_http(controller_manager, f"https://127.0.0.1:{p.controller_manager}/healthz", deadline)
        self._wait_http(scheduler, f"https://127.0.0.1:{p.scheduler}/healthz", deadline)
        self._wait_http(kwok, f"http://127.0.0.1:{p.kwok}/healthz", deadline)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop every component, newest first; each gets `timeout` to exit after SIGTERM."""
        for component in reversed(self.components):
            _kill_group(component, timeout)
            if component in _LIVE:
                _LIVE.remove(component)
        self.components.clear()
        # Stopped: the group ids may be reused by unrelated processes from now on.
        (self.workdir / "pgids").unlink(missing_ok=True)

    def _spawn(self, name: str, argv: Sequence[str]) -> Component:
        log = self.workdir / "logs" / f"{name}.log"
        handle = log.open("ab")
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,  # its own process group, killed as one
                env=self._component_env(),
            )
        finally:
            handle.close()
        component = Component(name, process, log)
        # For `scripts/cluster.sh stop` should the owning Python process die without stopping them.
        with (self.workdir / "pgids").open("a") as pgids:
            pgids.write(f"{process.pid} {name}\n")
        self.components.append(component)
        _LIVE.append(component)
        return component

    def _component_env(self) -> dict[str, str]:
        # No proxy may ever route loopback traffic elsewhere; no ambient kubeconfig may be picked up.
        env = {
            k: v
            for k, v in os.environ.items()
            if k.lower() not in ("http_proxy", "https_proxy", "kubeconfig")
        }
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        env["HOME"] = str(self.workdir)  # kwok reads ~/.kwok; keep it inside the cluster's folder
        return env

    def _wait_http(self, component: Component, url: str, deadline: float, authorized: bool = False) -> None:
        """Poll `url` until it answers 200 `ok`; fail with the component's log if it dies or time runs out."""
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        if url.startswith("https://") and not authorized:
            # Controller-manager and scheduler serve a self-signed certificate of their own.
            context = ssl._create_unverified_context()
        headers = {"Authorization": f"Bearer {self.token}"} if authorized else {}
        last = "no answer yet"
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
        while True:
            if component.process.poll() is not None:
                raise ClusterError(
                    f"{component.name} exited with {component.process.returncode} while starting; "
                    f"last lines of {component.log}:\n{component.tail()}"
                )
            try:
                with opener.open(urllib.request.Request(url, headers=headers), timeout=5) as response:
                    if response.status == 200:
                        return
                    last = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}: {exc.read()[-500:].decode(errors='replace')}"
            except (OSError, urllib.error.URLError) as exc:
                last = str(exc)
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"{component.name} not healthy at {url} in time ({last}); last lines of {component.log}:\n"
                    f"{component.tail()}"
                )
            time.sleep(0.25)

    # -- asking the cluster --

    def kubectl_env(self) -> dict[str, str]:
        env = self._component_env()
        env["KUBECONFIG"] = str(self.kubeconfig)
        return env

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["kubectl", f"--kubeconfig={self.kubeconfig}", f"--context={self.context}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            env=self.kubectl_env(),
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise ClusterError(
                f"kubectl {' '.join(args)} exited {result.returncode}: {result.stderr[-3000:]}"
            )
        return result

    def get(self, *args: str) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.kubectl("get", *args, "-o", "json").stdout)
        return body

    def items(self, *args: str) -> list[dict[str, Any]]:
        return list(self.get(*args).get("items", []))

    def apply(self, documents: Iterable[Mapping[str, Any]], *extra: str) -> subprocess.CompletedProcess[str]:
        body = yaml.safe_dump_all([dict(d) for d in documents], sort_keys=False)
        # Server-side apply: no last-applied annotation, so the large CRDs stay under the size limits.
        return self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", *extra, stdin=body)

    def wait_for(self, what: str, predicate: Any, timeout: float = 60, interval: float = 0.5) -> Any:
        """Call `predicate()` until it returns something truthy; fail naming `what` and the last value."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            last = predicate()
            if last:
                return last
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")
            time.sleep(interval)

    # -- what the tests install --

    def install_crds(self, schema_dir: Path = SCHEMAS) -> list[str]:
        """Every CRD under `schema_dir`, made safe for a loopback cluster; returns their names."""
        crds = [crd for path in sorted(schema_dir.glob("*.yaml")) for crd in crd_documents(path)]
        self.apply(crds)
        names = [crd["metadata"]["name"] for crd in crds]
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", *[f"crd/{n}" for n in names])
        return names

    def add_nodes(self, nodes: Iterable[Mapping[str, Any]]) -> list[str]:
        """Create Node objects (KWOK takes over those with its annotation) and wait until they are Ready."""
        documents = [dict(n) for n in nodes]
        if not documents:
            return []
        body = yaml.safe_dump_all(documents, sort_keys=False)
        # `create`, not apply: a Node's status (its capacity) is only kept when it is set on create.
        self.kubectl("create", "-f", "-", stdin=body)
        names = [n["metadata"]["name"] for n in documents]
        self.kubectl("wait", "--for=condition=Ready", "--timeout=60s", *[f"node/{n}" for n in names])
        return names


# --- CRDs ----------------------------------------------------------------------------------------


def crd_documents(path: Path) -> list[dict[str, Any]]:
    """The CRDs of one upstream file with everything that would make the API server call out removed.

    A `conversion: {strategy: Webhook}` makes the server dial a Service for every read of a
    non-storage version; `None` conversion is what the server does for the other versions anyway
    when only the storage version is ever written, which is all these tests do.
    """
    crds = []
    for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
            continue
        spec = document.setdefault("spec", {})
        if (spec.get("conversion") or {}).get("strategy") == "Webhook":
            spec["conversion"] = {"strategy": "None"}
        document.pop("status", None)
        crds.append(document)
    return crds


def forbidden_objects(documents: Iterable[Mapping[str, Any]]) -> list[str]:
    """Objects that would make the local API server dial out: webhooks and aggregated APIs."""
    bad = {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService"}
    found = []
    for d in documents:
        if d.get("kind") in bad:
            found.append(f"{d['kind']}/{d.get('metadata', {}).get('name')}")
        elif (
            d.get("kind") == "CustomResourceDefinition"
            and ((d.get("spec") or {}).get("conversion") or {}).get("strategy") == "Webhook"
        ):
            found.append(f"CustomResourceDefinition/{d['metadata']['name']} (conversion webhook)")
    return found
