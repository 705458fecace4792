"""Whether this process ends after its command: what the mock runtime's garbage-collection policy asks.

Apart from `mocks` so the command line can declare it without importing the Pulumi SDK.
"""

from __future__ import annotations

import gc

_DEFAULT_THRESHOLD = gc.get_threshold()
GC_THRESHOLD = (1_000_000, 50, 1_000)
"""Generation-0 threshold while a program runs, and for the whole of a one-shot process (CPython's
default is 700). At 10^5 a warm one-model preview at 1,000 models spent ~0.06 s of ~1.25 s in 32 young
collections, and the uncached render took 23.9 s; at 10^6: 1.18-1.24 s and 21.2 s, for 32 MB more peak
memory (1.04 -> 1.07 GB) and byte-identical objects; 3 x 10^6 bought nothing more (2026-12-03)."""


class _Policy:
    one_shot = False


def one_shot_process() -> None:
    """Declare that this process ends after its command (the CLI; the benchmark's floors).

    A program run leaves its whole runtime heap behind: futures, tasks and callbacks in reference cycles.
    Collecting them costs a full scan of that heap when the thresholds are restored and another one at
    interpreter exit (at 1,000 models, seconds each) and frees nothing the command still needs; a
    one-shot process freezes them instead. Library callers (tests, a long-lived process) keep the default,
    which collects them.

    The rare collections hold from here on, not only while the program runs: a warm preview's catalog
    validation and cache reads build a heap of ~10^6 objects that the default thresholds rescanned for
    ~0.15 s of its ~1.7 s, to free next to nothing. Young garbage is still collected every 10^6
    allocations.
    """
    _Policy.one_shot = True
    gc.set_threshold(*GC_THRESHOLD)


def long_lived_process() -> None:
    """Declare that this process goes on serving (`release-loop --listen`): the collector's own thresholds
    again, so the cyclic garbage of hours of rounds is freed, where a one-shot run's would be left."""
    _Policy.one_shot = False
    gc.set_threshold(*_DEFAULT_THRESHOLD)
