"""The garbage-collection policy of a program run: rare collections while it runs; afterwards a library
caller gets its heap collected again, a one-shot process (the CLI) keeps it frozen until exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from modelstack.engine.process_policy import GC_THRESHOLD
from tests.conftest import ROOT

PROBE = textwrap.dedent(
    """
    import gc, json, sys, weakref
    import modelstack.engine.mocks as mocks

    class Node:
        pass

    if sys.argv[1] == "one-shot":
        mocks.one_shot_process()
    before = gc.get_threshold()
    with mocks.program_gc():
        during = gc.get_threshold()
        nodes = [Node() for _ in range(1000)]
        for node in nodes:
            node.self = node  # a reference cycle: only the cyclic collector frees it
        alive = [weakref.ref(node) for node in nodes]
        del nodes, node
    restored = gc.get_threshold() == before
    gc.collect()
    left = sum(ref() is not None for ref in alive)
    print(json.dumps({"restored": restored, "before": before, "during": during, "left": left}))
    """
)


def probe(mode: str) -> dict[str, object]:
    import json

    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_collections_are_rare_while_the_program_runs() -> None:
    assert probe("library")["during"] == list(GC_THRESHOLD)


def test_a_library_caller_gets_its_heap_collectable_again() -> None:
    outcome = probe("library")

    assert outcome["restored"] is True
    assert outcome["left"] == 0  # the run's 1,000 cycles were freed


def test_a_one_shot_process_keeps_the_runs_heap_frozen_until_exit() -> None:
    outcome = probe("one-shot")

    assert outcome["restored"] is True
    assert outcome["left"] == 1000  # frozen: never scanned again; the exit frees them


def test_a_one_shot_process_collects_rarely_before_its_program_runs_too() -> None:
    # The probe reads the thresholds right after one_shot_process(): what catalog validation runs under.
    assert probe("one-shot")["before"] == list(GC_THRESHOLD)


def test_a_serving_process_gets_the_collectors_own_thresholds_back() -> None:
    # `release-loop --listen` starts as every CLI command (one-shot), then serves for hours.
    probe_code = (
        "import gc, json; from modelstack.engine import process_policy as p; default = gc.get_threshold();"
        " p.one_shot_process(); p.long_lived_process(); print(json.dumps(gc.get_threshold() == default))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe_code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "true"
