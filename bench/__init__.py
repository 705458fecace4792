"""Scale benchmark of validate, render and preview, with the synthetic catalogs it (and its tests) use."""
