"""Pulumi entry point: everything lives in the `components` package."""

from components.program import main

main()
