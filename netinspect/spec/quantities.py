"""Counts, sizes and shapes as people write them (``7B``, ``30GB``, ``2x10``), read exactly.

The command line's options and a spec's ``budget:`` read them alike; each reader returns
None for text it cannot read, and its caller raises the error, located where it stands (an
option, or a key in the spec). No float on the way: ``1.5T`` is 1,500,000,000,000 exactly.
ASCII digits only (``'²'.isdigit()`` is true, ``int('²')`` fails), and at most 2^63 - 1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction

INT64_MAX = 2**63 - 1

SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
COUNT_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}

_NUMBER_AND_UNIT = re.compile(
    r"\s*([0-9]{1,30}(?:\.[0-9]{1,30})?(?:[eE][+]?[0-9]{1,2})?)\s*([a-zA-Z]*)\s*", re.ASCII
)
_DECIMAL = re.compile(r"[0-9]{1,19}")


def scaled(text: str, units: Mapping[str, int], commas: bool = False) -> int | None:
    """``1.5 TB`` (or ``1.5e12``) with ``units`` (lower case) to 1500000000000, exactly;
    None when it is not a number and a unit, or is beyond 64 bits."""
    match = _NUMBER_AND_UNIT.fullmatch(text.replace(",", "") if commas else text)
    if not match or match.group(2).lower() not in units:
        return None
    value = round(Fraction(match.group(1)) * units[match.group(2).lower()])
    return value if value <= INT64_MAX else None


def size_of(text: str) -> int | None:
    """``8GB``, ``512MiB``, ``1.5 TB`` or a plain byte count to bytes (decimal and binary
    units)."""
    return scaled(text, SIZE_UNITS)


def count_of(text: str) -> int | None:
    """``7B``, ``1.5T``, ``300M``, ``10k``, ``1,000``, ``3e9`` or a plain number."""
    return scaled(text, COUNT_SUFFIXES, commas=True)


def sizes_of(text: str) -> tuple[int, ...] | None:
    """``2x4``, ``2,4``, ``2 4`` or ``[2, 4]`` to ``(2, 4)``: whole numbers ≥ 1 in ASCII
    digits (the multiplication sign too: shapes pasted from papers use it)."""
    parts = [p for p in re.split(r"[x×,\s]+", text.strip().strip("[]()").strip()) if p]  # noqa: RUF001
    if not parts or not all(_DECIMAL.fullmatch(p) and int(p) >= 1 for p in parts):
        return None
    return tuple(int(p) for p in parts)


SIZE_HINT = "Write a number and a unit: 8GB, 512MiB, 2TB (at most 2^63 - 1 bytes)."
COUNT_HINT = (
    "Write a number with an optional K, M, B (or G) or T: 7B, 1.5T, 300M, 3e9 (at most 2^63 - 1)."
)
