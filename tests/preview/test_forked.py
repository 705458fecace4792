"""`modelstack.engine.forked.beside`: a function computed in a forked child gives the caller what calling it
here gives (its value, or its exception), whatever becomes of the child."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from modelstack.engine.forked import beside, can_fork
from tests.conftest import FRESH

# The forking tests each run in an interpreter of their own (`fresh_interpreter`): there no thread another
# test (or the test runner) left running stops the fork, which `in_a_single_thread` checks.
LINUX = pytest.mark.skipif(sys.platform != "linux", reason="a child is forked on Linux only")


@pytest.fixture(autouse=True)
def in_a_single_thread() -> None:
    if os.environ.get(FRESH):
        assert can_fork(), "the fresh interpreter runs another thread: no test here would fork"


@pytest.mark.fresh_interpreter
@LINUX
def test_the_value_comes_from_the_child_when_one_is_forked() -> None:
    parent = os.getpid()

    with beside(lambda: {"pid": os.getpid(), "rows": list(range(1000))}) as result:
        value = result()

    assert value["pid"] != parent
    assert value["rows"] == list(range(1000))


@pytest.mark.fresh_interpreter
@LINUX
def test_an_exception_in_the_child_is_raised_here_as_calling_the_function_here_raises() -> None:
    def fails() -> None:
        raise ValueError(f"failed in {'the child' if os.getpid() != parent else 'this process'}")

    parent = os.getpid()
    with beside(fails) as result, pytest.raises(ValueError, match="failed in this process"):
        result()


@pytest.mark.fresh_interpreter
@LINUX
def test_a_value_the_child_cannot_send_is_computed_here() -> None:
    lock = threading.Lock()  # no pickle for a lock

    with beside(lambda: (os.getpid(), lock)) as result:
        pid, value = result()

    assert pid == os.getpid()
    assert value is lock


@pytest.mark.fresh_interpreter
@LINUX
def test_a_child_whose_value_is_never_asked_for_is_reaped() -> None:
    with beside(lambda: sum(range(10**6))):
        pass

    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_without_a_fork_the_function_runs_here_once_when_first_asked_for() -> None:
    calls: list[int] = []

    with beside(lambda: calls.append(os.getpid()) or len(calls), fork=False) as result:
        assert calls == []
        assert (result(), result()) == (1, 1)

    assert calls == [os.getpid()]


@pytest.mark.fresh_interpreter
@LINUX
def test_no_child_is_forked_while_another_thread_runs() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with beside(os.getpid) as result:
            pid = result()
    finally:
        stop.set()
        other.join()

    assert pid == os.getpid()
