"""Traffic: per-model routing (VirtualService, DestinationRule), access (mTLS, AuthorizationPolicy) and the
smoke gate that holds traffic until each new version answered its golden requests.

Nothing is re-exported here: the catalog's validation imports the manifest builders of this package
(`mesh`, `names`), and a package that imported its components would load the Pulumi SDK with them, which a
warm preview validates without (docs/performance.md)."""
