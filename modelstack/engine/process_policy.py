"""Whether this process ends after its command: what the mock runtime's garbage-collection policy asks.

Apart from `mocks` so the command line can declare it without importing the Pulumi SDK.
"""

from __future__ import annotations


class _Policy:
    one_shot = False


def one_shot_process() -> None:
    """Declare that this process ends after its command (the CLI; the benchmark's floors).

    A program run leaves its whole runtime heap behind: futures, tasks and callbacks in reference cycles.
    Collecting them costs a full scan of that heap when the thresholds are restored and another one at
    interpreter exit (at 1,000 models, seconds each) and frees nothing the command still needs; a
    one-shot process freezes them instead. Library callers (tests, a long-lived process) keep the default,
    which collects them.
    """
    _Policy.one_shot = True
