"""The image's layers: base + dependencies + code, so that a code change reuses the dependency layer and a
lock-file change rebuilds it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.containers import IMAGE_LOCK, Build, PushedImage, build, copy_context, docker, layers
from tests.integration.rendered_contract import RenderedContract
from tests.locks import one_at_a_time

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Layers:
    dependencies: str
    code: str


def split_layers(built: Build, base_image: str) -> Layers:
    """The Dockerfile's final stage is base + one dependency layer + one code layer."""
    base = layers(base_image)
    assert built.layers[: len(base)] == base, "the image is not built FROM the base digest"
    assert len(built.layers) == len(base) + 2, built.layers
    return Layers(dependencies=built.layers[len(base)], code=built.layers[len(base) + 1])


@pytest.fixture
def variant(
    tmp_path: Path, base_image_digest: str, serving_contract: RenderedContract, pushed_image: PushedImage
) -> Iterator[Callable[[str, str], Build]]:
    """variant(file, appended_text) -> Build of a context copy with one file edited; image removed after.

    Holds the image lock throughout: the clean-up removes every untagged image made meanwhile, which must
    never be another worker's build stage of the pushed image (its cache is what gives each worker the
    same digest). ``pushed_image`` comes first, so this worker never waits for a lock it holds itself.
    """
    with one_at_a_time(IMAGE_LOCK):
        tags: list[str] = []
        dangling_before = set(dangling_images())

        def make(file: str, appended: str) -> Build:
            context = copy_context(tmp_path / f"context-{len(tags)}")
            with (context / file).open("a") as handle:
                handle.write(appended)
            tag = f"{serving_contract.image_repository}:variant-{uuid.uuid4().hex[:12]}"
            tags.append(tag)
            return build(context, base_image_digest, tag)

        yield make
        for tag in tags:
            docker("rmi", "-f", tag, check=False)
        # The untagged dependency stage of each variant would otherwise pile up run after run.
        for image in set(dangling_images()) - dangling_before:
            docker("rmi", image, check=False)


def dangling_images() -> list[str]:
    return docker("images", "--quiet", "--no-trunc", "--filter", "dangling=true").stdout.split()


def test_code_change_reuses_the_dependency_layer(pushed_image, variant, base_image_digest):
    before = split_layers(pushed_image.build, base_image_digest)

    changed = variant("server.py", f"\n# e2e code change {uuid.uuid4()}\n")
    after = split_layers(changed, base_image_digest)

    assert after.dependencies == before.dependencies
    assert after.code != before.code
    assert "Successfully installed" not in changed.output  # pip did not run again


def test_lock_file_change_rebuilds_the_dependency_layer(pushed_image, variant, base_image_digest):
    before = split_layers(pushed_image.build, base_image_digest)

    changed = variant("requirements.txt", f"# e2e lock change {uuid.uuid4()}\n")
    after = split_layers(changed, base_image_digest)

    assert after.dependencies != before.dependencies
    assert "Successfully installed" in changed.output  # pip ran again
