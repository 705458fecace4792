"""Fixtures of the release-loop tests: the gate's backfilled Prometheus, project copies to commit to."""

from __future__ import annotations

from tests.gate.conftest import prometheus_url

__all__ = ["prometheus_url"]
