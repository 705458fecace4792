"""The catalog's rules, run in a forked process while this one goes on.

A warm one-model preview validates the whole catalog (the rules: ~0.2 s at 1,000 models) and then loads
the Pulumi SDK and runs the program for the model that changed; neither needs the other until the render
is stored. So once the schema has passed, the rules run in a child forked from this process (it has the
catalog already, nothing is sent to it) and only their findings come back through a pipe. Nothing the
program produced is used before those findings are in: a catalog the rules reject raises CatalogError
exactly as `load_catalog` would, whatever the program did with it meanwhile.

The child is forked only where that is safe and cheap: Linux, a process with no other thread (a thread
holding a lock at the fork would leave it held in the child). Elsewhere the rules run first, here, as
before.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from components.catalog.errors import Problem
from components.validation.loader import LoadedCatalog, SchemaChecked


def can_fork() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


class _Child:
    """A forked process computing `checked.rule_problems()` and writing them, pickled, to a pipe."""

    def __init__(self, checked: SchemaChecked) -> None:
        self.checked = checked
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                os.close(read)
                view = memoryview(pickle.dumps(checked.rule_problems(), protocol=pickle.HIGHEST_PROTOCOL))
                while view:
                    view = view[os.write(write, view) :]
                status = 0
            finally:
                # Never back into the caller's code: no atexit handler, no buffered output flushed twice.
                os._exit(status)
        os.close(write)
        self.pid: int | None = pid
        self.read = read
        self.loaded: LoadedCatalog | None = None

    def _problems(self) -> list[Problem] | None:
        chunks = []
        while chunk := os.read(self.read, 1 << 20):
            chunks.append(chunk)
        os.close(self.read)
        assert self.pid is not None
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        if os.waitstatus_to_exitcode(status) != 0:
            return None
        try:
            problems = pickle.loads(b"".join(chunks))
        except Exception:  # a child that died mid-write: the rules run here instead
            return None
        return problems if isinstance(problems, list) else None

    def result(self) -> LoadedCatalog:
        """What `load_catalog` returns; raises CatalogError as it does. A child that failed in any way
        only means the rules run here."""
        if self.loaded is None:
            problems = self._problems()
            if problems is None:
                problems = self.checked.rule_problems()
            self.loaded = self.checked.finish(problems)
        return self.loaded

    def close(self) -> None:
        """The child reaped: killed when its findings were never asked for (this run failed first)."""
        if self.pid is None:
            return
        with suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.close(self.read)
        os.waitpid(self.pid, 0)
        self.pid = None


@contextmanager
def rules_beside(
    checked: SchemaChecked, *, fork: bool | None = None
) -> Iterator[Callable[[], LoadedCatalog]]:
    """Yields the function that returns the validated catalog (or raises CatalogError): the rules run in
    a child meanwhile when `fork` (default: `can_fork()`), else before this yields. A catalog the schema
    already rejected is reported at once."""
    if checked.schema_failed or not (can_fork() if fork is None else fork):
        loaded = checked.finish(checked.rule_problems())
        yield lambda: loaded
        return
    child = _Child(checked)
    try:
        yield child.result
    finally:
        child.close()
