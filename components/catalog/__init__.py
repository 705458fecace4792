"""The catalog schema: the single source of truth for what a user may write in `models.yaml` and in a
stack's `modelstack:` configuration.

Owns the pydantic models (catalog, models, versions, node pools, traffic, smoke tests, analyses), their
field-level checks, and the error machinery every later check reports through (`errors`, `source` for
file/line/column, `translate` for pydantic's errors). It is the ground floor of the program: it imports
only itself and `components.facts` (GPU and MIG facts its node-pool checks need), so it can be read,
tested and reused on its own. Rules that need the stack or a domain package run in
`components.validation`, above it.
"""
