"""Domain facts: the ground floor that the catalog schema's own field checks stand on.

Owns what is true of the hardware whatever a catalog says: the built-in GPU catalog (`gpus`: models,
MIG geometry, GFD product labels, minimum drivers; data in `gpus.yaml`) and MIG layouts (`mig`: which
instances fit one GPU and the names Kubernetes gives them). It imports nothing of the project but itself,
so the schema in `components.catalog` can validate a node pool's GPU and layout without reaching up.
Facts that need validated catalog objects (GPU fit and capacity, build contexts, served metric names)
are not facts in this sense: they live in their domain packages, and the cross-field rules that use
them in `components.validation`, above the schema.
"""
