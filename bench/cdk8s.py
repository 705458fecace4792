"""The cdk8s peer: cdk8s (the npm package, run by Node.js) synthesizing the render's very objects.

`bench/run.py` times it beside `modelstack render` as the issue's peer figure: the same object set
(`bench/floors.py prepare` keeps it), one `ApiObject` per object, one YAML file each, under one Chart
(the peer) and under a Chart per model (our components' shape; `bench/peers/cdk8s_synth.js`). The packages are installed once with npm, pinned, into a cache folder
outside the repository keyed by their versions (`$MODELSTACK_PEERS_DIR`, else
`$XDG_CACHE_HOME/modelstack/peers` or `~/.cache/modelstack/peers`); nothing is committed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from modelstack.engine.render_cache import cache_home

CDK8S_VERSION = "2.70.106"
CONSTRUCTS_VERSION = "10.8.1"
INSTALL_TIMEOUT_S = 300
"""npm retries an unreachable registry for minutes; a benchmark or test should not wait longer."""
SYNTH = Path(__file__).resolve().parent / "peers" / "cdk8s_synth.js"


class PeerUnavailableError(Exception):
    """Node.js or npm is missing, or the install failed: the peer's column says why."""


def peers_dir() -> Path:
    return cache_home("MODELSTACK_PEERS_DIR", "peers")


def install_dir() -> Path:
    return peers_dir() / f"cdk8s-{CDK8S_VERSION}-constructs-{CONSTRUCTS_VERSION}"


def ensure_cdk8s(log: object = sys.stderr) -> Path:
    """The `node_modules` holding the pinned cdk8s and constructs, installed on first use."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise PeerUnavailableError("no node/npm on PATH (apt-get install -y nodejs npm)")
    target = install_dir()
    modules = target / "node_modules"
    done = target / ".installed"
    if done.is_file():
        return modules
    print(f"cdk8s peer: npm install cdk8s@{CDK8S_VERSION} constructs@{CONSTRUCTS_VERSION} into {target}",
          file=log, flush=True)  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    # A directory of this process's own, renamed into place when whole: two installs at once (two test
    # workers) never see each other's half-written node_modules.
    partial = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    # --ignore-scripts: neither package needs an install script, and none from the registry should run.
    try:
        result = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-save",
             f"cdk8s@{CDK8S_VERSION}", f"constructs@{CONSTRUCTS_VERSION}"],
            cwd=partial, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=INSTALL_TIMEOUT_S,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        shutil.rmtree(partial, ignore_errors=True)
        raise PeerUnavailableError(
            f"npm install did not finish in {INSTALL_TIMEOUT_S} s (no registry?)"
        ) from None
    if result.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise PeerUnavailableError(f"npm install failed: {(result.stderr or result.stdout).strip()[-300:]}")
    (partial / done.name).write_text(f"cdk8s {CDK8S_VERSION}, constructs {CONSTRUCTS_VERSION}\n")
    if done.is_file():  # another process finished first
        shutil.rmtree(partial, ignore_errors=True)
        return modules
    shutil.rmtree(target, ignore_errors=True)  # a half-installed directory from an older layout
    try:
        partial.rename(target)
    except OSError:  # another process renamed its own into place meanwhile
        shutil.rmtree(partial, ignore_errors=True)
    return modules


SHAPES = ("one-chart", "chart-per-model")
"""One Chart for every object (the peer figure), or one per model as our components are."""


def synth_command(manifests: Path, out: Path, shape: str = "one-chart") -> tuple[list[str], dict[str, str]]:
    """The command that synthesizes `manifests` into `out`, and its environment."""
    modules = ensure_cdk8s()
    node = shutil.which("node")
    assert node is not None and shape in SHAPES
    return [node, str(SYNTH), str(manifests), str(out), shape], {**os.environ, "NODE_PATH": str(modules)}
