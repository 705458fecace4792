"""One machine-wide lock per shared set-up step, so parallel test workers (pytest-xdist) never run an
installer or start a server twice at the same time; the steps are idempotent, so a worker that waited
finds everything ready and returns fast."""

from __future__ import annotations

import fcntl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def one_at_a_time(name: str) -> Iterator[None]:
    path = Path(tempfile.gettempdir()) / f"modelstack-tests-{name}.lock"
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
