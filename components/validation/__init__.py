"""Loading a catalog and a stack configuration: the schema first, then the cross-field rules.

Owns `loader` (read `models.yaml` and `Pulumi.<stack>.yaml`, validate them against `components.catalog`,
run every rule, raise one CatalogError listing every problem located in its file) and `rules` (checks
that need more than one field, the stack, or a domain package: a GPU request must fit its pool, the
pools must fit their versions, a build context must be pinned, a scaled metric must be served). It sits
above the schema on purpose: those rules need `components.gpu`, `components.images` and
`components.autoscaling`, which themselves take validated schema objects, so the schema stays free of
them. It may import the schema, the facts and those domain modules, never a ComponentResource module
nor `modelstack`.
"""
