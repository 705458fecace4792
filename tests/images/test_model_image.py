"""Built versions: prod builds and pushes with a digest-pinned base; every Deployment runs by digest."""

from __future__ import annotations

import re
from pathlib import Path

from pulumi.runtime import MockResourceArgs

from components.catalog.build import BuildSpec
from components.images.context_hash import context_hash
from modelstack.engine.mocks import RecordingMocks
from modelstack.engine.render import Render
from tests.conftest import objects_of_kind

DIGEST_REF = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")


def built_image(render: Render) -> dict:
    images = [r for r in render.resources if r.type == "docker-build:index:Image"]
    assert len(images) == 1, [r.type for r in render.resources]
    return images[0].inputs


def test_prod_builds_the_example_server_from_the_catalog_base_digest(prod_render: Render) -> None:
    # `{registry}/` in the catalog's base: prod pulls the reviewed digest from its own registry.
    inputs = built_image(prod_render)
    assert inputs["buildArgs"]["BASE"].startswith("registry.ml.example.com/modelstack/base@sha256:")
    assert inputs["push"] is True


def test_prod_tags_are_immutable_version_plus_content_hash(prod_render: Render) -> None:
    (tag,) = built_image(prod_render)["tags"]
    assert re.fullmatch(r"registry\.ml\.example\.com/modelstack/text-embedder:v1-[0-9a-f]{12}", tag)
    assert not tag.endswith(":latest")


def test_prod_registry_cache_is_keyed_by_lock_file_and_base(prod_render: Render) -> None:
    inputs = built_image(prod_render)
    cache_from = inputs["cacheFrom"][0]["registry"]["ref"]
    cache_to = inputs["cacheTo"][0]["registry"]["ref"]
    assert cache_from == cache_to
    assert re.fullmatch(r".*/text-embedder:cache-[0-9a-f]{16}", cache_from)


def test_dev_renders_without_building(dev_render: Render) -> None:
    assert not [r for r in dev_render.resources if r.type.startswith("docker-build:")]


def test_built_version_deploys_by_digest(dev_render: Render, prod_render: Render) -> None:
    for render in (dev_render, prod_render):
        container = objects_of_kind(render, "Deployment")["text-embedder-v1"]["spec"]["template"]["spec"][
            "containers"
        ][0]
        assert DIGEST_REF.match(container["image"]), container["image"]


def test_every_deployment_references_images_by_digest_only(dev_render: Render, prod_render: Render) -> None:
    for render in (dev_render, prod_render):
        for name, deployment in objects_of_kind(render, "Deployment").items():
            for container in deployment["spec"]["template"]["spec"]["containers"]:
                assert DIGEST_REF.match(container["image"]), (name, container["image"])


def _offline_digest(context: Path) -> str:
    """The digest the offline render reports for a build of `context`, as the program registers it."""
    inputs = {
        "context": {"location": str(context)},
        "dockerfile": {"location": str(context / "Dockerfile")},
        "buildArgs": {"BASE": "127.0.0.1:5000/modelstack/base@sha256:" + "a" * 64},
        "platforms": ["linux/amd64"],
        "tags": ["registry.example.com/m:v1-0123456789ab"],
    }
    _, state = RecordingMocks().new_resource(MockResourceArgs("docker-build:index:Image", "m-v1", inputs))
    return str(state["digest"])


def _context(at: Path, server: str = "print('serve')\n") -> Path:
    at.mkdir(parents=True)
    (at / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\nCOPY server.py /srv/\n")
    (at / "server.py").write_text(server)
    return at


def test_the_offline_digest_of_a_built_image_does_not_depend_on_where_the_checkout_lives(
    tmp_path: Path,
) -> None:
    here = _context(tmp_path / "checkout" / "ctx")
    there = _context(tmp_path / "elsewhere" / "worktree" / "ctx")
    assert _offline_digest(here) == _offline_digest(there)


def test_the_offline_digest_of_a_built_image_changes_with_a_file_of_the_context(tmp_path: Path) -> None:
    assert _offline_digest(_context(tmp_path / "a")) != _offline_digest(
        _context(tmp_path / "b", server="print('serve v2')\n")
    )


def test_the_content_hash_ignores_folder_names_above_the_context(tmp_path: Path) -> None:
    """A checkout under a folder named like a skipped one (`wheelhouse`) hashes its files all the same."""
    build = BuildSpec.model_validate(
        {"context": "ctx", "base": "127.0.0.1:5000/modelstack/base@sha256:" + "a" * 64}
    )
    plain = tmp_path / "plain"
    odd = tmp_path / "wheelhouse"
    _context(plain / "ctx")
    _context(odd / "ctx")
    assert context_hash(build, plain) == context_hash(build, odd)


def test_the_contract_carries_each_versions_deployed_image_built_or_pinned(
    dev_render: Render, prod_render: Render
) -> None:
    # prod builds text-embedder (its digest is an Output of the build); dev and every other model pin.
    for render in (dev_render, prod_render):
        deployments = objects_of_kind(render, "Deployment")
        for model, entry in render.outputs["contract"]["models"].items():
            for version, exported in entry["versions"].items():
                container = deployments[f"{model}-{version}"]["spec"]["template"]["spec"]["containers"][0]
                assert exported["image"] == container["image"], (model, version)
                assert exported["digest"] == container["image"].rsplit("@", 1)[1]
