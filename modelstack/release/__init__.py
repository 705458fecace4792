"""The release tooling: what moves traffic between versions of a model, and what decides it may.

Owns `gate` (the canary analysis against Prometheus), `edits` (comment-preserving edits of `models.yaml`
for promote, rollback, retire and weight changes), `immutability` (the check that a released version never
changes) and `smoke_check` (the checker program smoke-test Jobs run: standard library only, shipped
verbatim in a ConfigMap, so this package's `__init__` imports nothing). It may import `components` and the
offline engine (`modelstack.engine`), never the CLI.
"""
