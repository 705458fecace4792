"""The container's life: not ready while the mounted weights are unreadable to its user, and a prompt, clean
exit on SIGTERM."""

from __future__ import annotations

import time

import pytest

from tests.integration.containers import docker, http_get, wait_until

pytestmark = pytest.mark.integration


def test_not_ready_while_the_weights_are_unreadable_to_the_container_user(
    start_container, serving_contract, tmp_path
):
    unreadable = tmp_path / "weights"
    unreadable.mkdir(mode=0o755)
    (unreadable / "weights.npz").write_bytes(b"")
    (unreadable / "weights.npz").chmod(0o000)

    container = start_container(unreadable)

    wait_until(container, serving_contract.liveness)
    status, body = http_get(container.url(serving_contract.readiness))
    assert status == 503
    assert "Permission denied" in body
    assert f"{serving_contract.weights_mount}/weights.npz" in body  # read from the rendered mount


def test_stops_promptly_with_exit_code_0_on_sigterm(start_container, serving_contract):
    container = start_container()
    wait_until(container, serving_contract.liveness)

    started = time.monotonic()
    docker("stop", "--time", "10", container.id)

    assert time.monotonic() - started < 5  # well before docker's SIGKILL
    assert docker("inspect", "--format", "{{.State.ExitCode}}", container.id).stdout.strip() == "0"
