"""The example model server's image as built and pushed: addressed by the digest the registry serves, built
FROM a base pinned by digest only, declaring the contract's user, and configured by the environment the
rendered pod injects (its own ENV shadows none of it)."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from tests.integration.containers import docker, model_name

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")

pytestmark = pytest.mark.integration


def test_pushed_image_is_addressed_by_the_digest_the_registry_serves(
    pushed_image, local_registry, serving_contract
):
    assert DIGEST.search(pushed_image.digest_ref), pushed_image.digest_ref
    assert pushed_image.digest_ref.startswith(serving_contract.image_repository + "@")
    path = serving_contract.image_repository.removeprefix(f"{local_registry}/")
    manifest = urllib.request.Request(
        f"http://{local_registry}/v2/{path}/manifests/e2e",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(manifest, timeout=5) as response:
        served = response.headers["Docker-Content-Digest"]

    assert pushed_image.digest_ref.endswith("@" + served)


def test_image_declares_the_contract_user(pushed_image, serving_contract):
    user = docker("image", "inspect", "--format", "{{.Config.User}}", pushed_image.digest_ref).stdout.strip()

    assert user == serving_contract.run_as


def test_the_server_takes_its_settings_from_the_rendered_env(pushed_image, serving_contract):
    # The image's own ENV must not shadow what the pod spec injects (weights path, precision, name).
    script = (
        "import json, os, sys; sys.path.insert(0, '/opt/model-server'); import server; "
        "s = server.Settings.from_env(os.environ); "
        "print(json.dumps({'weights': str(s.weights_path), 'precision': s.precision, 'name': s.model_name}))"
    )
    env = [arg for name, value in serving_contract.env.items() for arg in ("-e", f"{name}={value}")]

    result = docker(
        "run",
        "--rm",
        "--user",
        serving_contract.run_as,
        *env,
        "--entrypoint",
        "python3",
        pushed_image.digest_ref,
        "-c",
        script,
    )

    assert json.loads(result.stdout) == {
        "weights": serving_contract.env["MODEL_WEIGHTS_PATH"],
        "precision": serving_contract.env["MODEL_PRECISION"],
        "name": model_name(serving_contract),
    }
    assert serving_contract.env["MODEL_WEIGHTS_PATH"] == serving_contract.weights_mount


def test_build_refuses_a_base_that_is_not_a_digest(build_context, base_image_digest):
    # The same base, by its (existing, pullable) tag: refused for being movable, not for being absent.
    tags = docker("image", "inspect", "--format", "{{json .RepoTags}}", base_image_digest).stdout
    tag_ref = json.loads(tags)[0]

    result = docker(
        "build",
        "--force-rm",
        "--network",
        "none",
        "--build-arg",
        f"BASE={tag_ref}",
        str(build_context),
        check=False,
    )

    assert result.returncode != 0
    assert "BASE must be a digest reference" in result.stdout + result.stderr
