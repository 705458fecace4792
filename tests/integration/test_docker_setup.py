"""scripts/setup-docker.sh where Docker cannot run: exit 77 and a one-line reason, which the docker_env
fixture turns into a skip."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.integration.containers import SETUP_DOCKER

pytestmark = pytest.mark.integration


def test_setup_exits_77_with_a_one_line_reason_where_docker_cannot_run(tmp_path):
    # No engine to talk to, and (as root) no CAP_SYS_ADMIN to start one: an unprivileged container.
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root without setpriv (util-linux): cannot drop CAP_SYS_ADMIN")
        prefix = ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", "--"]
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock", "MODELSTACK_CACHE": str(tmp_path)}

    result = subprocess.run(
        [*prefix, "bash", str(SETUP_DOCKER)], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 77, result.stderr
    assert any(line.startswith("SKIP: ") for line in result.stderr.splitlines())
    assert result.stdout == ""
