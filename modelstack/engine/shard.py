"""A parallel worker of the cached render: `python -m modelstack.engine.shard ROOT STACK CACHE_DIR`, the
models to render on stdin (one a line). It stores them in the cache and prints nothing."""

from __future__ import annotations

import sys
from pathlib import Path

from modelstack.engine.incremental import shard
from modelstack.engine.mocks import one_shot_process
from modelstack.engine.render_cache import RenderCache


def main() -> None:
    root, stack, directory = sys.argv[1:4]
    models = [line for line in sys.stdin.read().splitlines() if line]
    one_shot_process()
    shard(Path(root), stack, models, RenderCache(Path(directory)))


if __name__ == "__main__":
    main()
