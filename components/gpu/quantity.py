"""Kubernetes quantities as exact numbers, for the capacity plan's sums."""

from __future__ import annotations

import functools
from fractions import Fraction

from components.catalog.patterns import Pattern

_QUANTITY = Pattern(r"([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?")
_SUFFIX = {
    None: Fraction(1),
    "m": Fraction(1, 1000),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}
GIB = Fraction(2**30)


@functools.lru_cache(maxsize=4096)  # a catalog repeats a handful of sizes thousands of times
def quantity(value: str) -> Fraction:
    """A Kubernetes quantity as an exact number (`500m` -> 1/2, `64Gi` -> 64 × 2^30)."""
    match = _QUANTITY.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a Kubernetes quantity")
    return Fraction(match.group(1)) * _SUFFIX[match.group(2)]
