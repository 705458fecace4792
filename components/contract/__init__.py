"""The stack contract: the versioned export other stacks read (docs/contract.md)."""
