"""`ModelImage`: build a model server from a base pinned by digest and deploy it by the pushed digest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.catalog.build import BuildSpec, resolved_base
from components.catalog.stack_config import StackConfig
from components.images.context_hash import cache_key, context_hash


@dataclass(frozen=True)
class ModelImageArgs:
    model_name: str
    version_name: str
    build: BuildSpec
    stack: StackConfig
    catalog_dir: Path
    registry_password: pulumi.Input[str] | None = None


def repository(args: ModelImageArgs) -> str:
    repo = args.build.repository or f"{args.stack.registry.prefix}/{args.model_name}"
    return f"{args.stack.registry.server}/{repo}"


def immutable_tag(args: ModelImageArgs, content: str) -> str:
    """`<version>-<content hash>`: never `latest`, and a different context is a different tag."""
    return f"{repository(args)}:{args.version_name}-{content[:12]}"


def unbuilt_reference(args: ModelImageArgs) -> str:
    """Without a build (dev), the digest stands in as the context's own content hash."""
    return f"{repository(args)}@sha256:{context_hash(args.build, args.catalog_dir)}"


class ModelImage(pulumi.ComponentResource):
    """Builds with BuildKit (pulumi-docker-build), pushes to the stack's registry, exposes `repo@sha256:...`."""

    image_ref: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: ModelImageArgs,
        provider: pulumi.ProviderResource | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("modelstack:images:ModelImage", name, None, opts)
        if not args.stack.build_images:
            self.image_ref = pulumi.Output.from_input(unbuilt_reference(args))
            self.register_outputs({"imageRef": self.image_ref})
            return
        # Imported by the only run that builds: every other render (and each warm preview) skips its ~10 ms.
        import pulumi_docker_build as docker_build

        context = (args.catalog_dir / args.build.context).resolve()
        content = context_hash(args.build, args.catalog_dir)
        cache = f"{repository(args)}:cache-{cache_key(args.build, args.catalog_dir)}"
        registry = args.stack.registry
        image = docker_build.Image(
            name,
            context=docker_build.BuildContextArgs(location=str(context)),
            dockerfile=docker_build.DockerfileArgs(location=str(context / args.build.dockerfile)),
            build_args={**args.build.args, "BASE": resolved_base(args.build, args.stack.registry.server)},
            platforms=[docker_build.Platform(p) for p in args.build.platforms],
            tags=[immutable_tag(args, content)],
            push=True,
            # Preview builds too: a broken image must fail the pull request, not the release.
            build_on_preview=True,
            registries=[
                docker_build.RegistryArgs(
                    address=registry.server, username=registry.username, password=args.registry_password
                )
            ]
            if registry.username
            else None,
            cache_from=[docker_build.CacheFromArgs(registry=docker_build.CacheFromRegistryArgs(ref=cache))],
            cache_to=[
                docker_build.CacheToArgs(
                    registry=docker_build.CacheToRegistryArgs(ref=cache, mode=docker_build.CacheMode.MAX)
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        )
        self.image_ref = pulumi.Output.concat(repository(args), "@", image.digest)
        self.register_outputs({"imageRef": self.image_ref})
