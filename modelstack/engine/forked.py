"""A function computed in a forked child while this process goes on, its pickled result read back.

A warm one-model preview has work that needs nothing the program makes (the catalog's rules, the base
directory's index) and a program run that needs none of it until the end. A child forked from this
process starts with everything already loaded (nothing is sent to it) and sends back only the result.

A child is forked only where that is safe and cheap: Linux, a process with no other thread, Python's or
a C library's (a thread holding a lock at the fork would leave it held in the child). Elsewhere, or when
the child fails in any way (killed, an exception, a result that does not unpickle), the function runs
here instead: a caller always gets what calling it here would have given, or the exception it raises
here.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")

_FAILED = object()


def can_fork() -> bool:
    """Linux, and this process has one thread: no Python thread, and none a C library started either
    (`/proc/self/task` lists every thread of the process, gRPC's own included)."""
    if sys.platform != "linux" or not hasattr(os, "fork") or threading.active_count() != 1:
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


class Forked(Generic[T]):
    """`fn()` computing in a forked child; `result()` waits for it."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                os.close(read)
                view = memoryview(pickle.dumps(fn(), protocol=pickle.HIGHEST_PROTOCOL))
                while view:
                    view = view[os.write(write, view) :]
                status = 0
            finally:
                # Never back into the caller's code: no atexit handler, no buffered output flushed twice.
                os._exit(status)
        os.close(write)
        self.pid: int | None = pid
        self.read = read
        self.value: object = _FAILED

    def _from_child(self) -> object:
        chunks = []
        while chunk := os.read(self.read, 1 << 20):
            chunks.append(chunk)
        os.close(self.read)
        assert self.pid is not None
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        if os.waitstatus_to_exitcode(status) != 0:
            return _FAILED
        try:
            return pickle.loads(b"".join(chunks))
        except Exception:  # a child that died mid-write: computed here instead
            return _FAILED

    def result(self) -> T:
        if self.value is _FAILED:
            value = self._from_child() if self.pid is not None else _FAILED
            self.value = self.fn() if value is _FAILED else value
        return self.value  # type: ignore[return-value]

    def close(self) -> None:
        """The child reaped. One whose result was never asked for (this run failed first) is waited for,
        not killed: it may be writing a cache entry, and a kill would leave its temporary file behind.
        Its work is bounded (the rules, a directory's index); Ctrl-C reaches it with the process group."""
        if self.pid is None:
            return
        os.close(self.read)
        os.waitpid(self.pid, 0)
        self.pid = None


@contextmanager
def beside(fn: Callable[[], T], *, fork: bool | None = None) -> Iterator[Callable[[], T]]:
    """Yields the function that returns `fn()`: computed in a child meanwhile when `fork` (default:
    `can_fork()`), else here when first asked for. The child is reaped on leaving."""
    if not (can_fork() if fork is None else fork):
        values: list[T] = []

        def here() -> T:
            if not values:
                values.append(fn())
            return values[0]

        yield here
        return
    child = Forked(fn)
    try:
        yield child.result
    finally:
        child.close()
