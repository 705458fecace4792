"""Built versions: prod builds and pushes with a digest-pinned base; every Deployment runs by digest."""

from __future__ import annotations

import re

from modelstack.engine.render import Render
from tests.conftest import objects_of_kind

DIGEST_REF = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")


def built_image(render: Render) -> dict:
    images = [r for r in render.resources if r.type == "docker-build:index:Image"]
    assert len(images) == 1, [r.type for r in render.resources]
    return images[0].inputs


def test_prod_builds_the_example_server_from_the_catalog_base_digest(prod_render: Render) -> None:
    inputs = built_image(prod_render)
    assert inputs["buildArgs"]["BASE"].startswith("127.0.0.1:5000/modelstack/base@sha256:")
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
