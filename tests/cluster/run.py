"""`python -m tests.cluster.run`: the test cluster for a person — start it, use it with kubectl, stop it.

    python -m tests.cluster.run [--dir DIR] [--nodes-from-stack prod]

builds (or reuses) the binaries, starts the control plane and KWOK in DIR, installs the upstream CRDs
and the platform namespaces, optionally creates the simulated nodes of a stack's node pools, prints
`KUBECONFIG=<path>` and the context, and keeps running until SIGINT or SIGTERM, then stops every
component. `scripts/cluster.sh` wraps it (foreground, or `start`/`stop` in the background).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import yaml

from tests.cluster.cluster import DEFAULT_CONTEXT, ClusterError, LocalCluster, build_cluster_toolchain
from tests.cluster.conftest import PLATFORM_NAMESPACES
from tests.cluster.nodes import pool_nodes, stack_node_pools

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "build" / "cluster", help="state folder (wiped)")
    parser.add_argument("--context", default=DEFAULT_CONTEXT)
    parser.add_argument(
        "--nodes-from-stack", metavar="STACK", help="create the node pools of Pulumi.STACK.yaml"
    )
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        toolchain = build_cluster_toolchain()
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.dir.exists():
        import shutil

        shutil.rmtree(args.dir)
    args.dir.mkdir(parents=True)
    cluster = LocalCluster(toolchain, args.dir, context=args.context)
    began = time.monotonic()
    try:
        cluster.start()
        print(f"control plane healthy in {cluster.started_s:.1f} s", file=sys.stderr)
        crds = cluster.install_crds()
        cluster.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in PLATFORM_NAMESPACES
        )
        print(f"{len(crds)} CRDs installed", file=sys.stderr)
        if args.nodes_from_stack:
            stack_file = ROOT / f"Pulumi.{args.nodes_from_stack}.yaml"
            config = yaml.safe_load(stack_file.read_text(encoding="utf-8"))["config"]
            names = cluster.add_nodes(pool_nodes(stack_node_pools(config.get("modelstack:nodePools") or [])))
            print(f"{len(names)} simulated nodes Ready: {', '.join(names)}", file=sys.stderr)
        print(
            f"ready in {time.monotonic() - began:.1f} s; stop with Ctrl-C or `scripts/cluster.sh stop`",
            file=sys.stderr,
        )
        print(f"KUBECONFIG={cluster.kubeconfig}")
        print(f"context={cluster.context}")
        print(f"logs={args.dir / 'logs'}")
        sys.stdout.flush()
        (args.dir / "ready").write_text(f"KUBECONFIG={cluster.kubeconfig}\n")
        while not stop.wait(1):
            dead = [c.name for c in cluster.components if c.process.poll() is not None]
            if dead:
                print(f"error: {', '.join(dead)} exited; see {args.dir / 'logs'}", file=sys.stderr)
                return 1
        return 0
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        cluster.stop()
        (args.dir / "ready").unlink(missing_ok=True)
        print("cluster stopped", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
