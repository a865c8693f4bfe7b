"""What the command line writes as text, parsed into the typed values the API takes:
shapes, sizes, counts. Exact (no float on the way), ASCII digits only, within 64 bits.
Each error names its option as its location."""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction

from netinspect.errors import Location, OptionError
from netinspect.spec.model import check_shape


def parse_shape(text: str, option: str = "--input") -> tuple[int, ...]:
    """``2x4``, ``2,4``, ``2 4`` or ``[2, 4]`` to ``(2, 4)``; every size a whole number ≥ 1
    written in ASCII digits, the shape at most 2^60 elements."""
    # The multiplication sign too: shapes pasted from papers and docs use it.
    parts = [p for p in re.split(r"[x×,\s]+", text.strip().strip("[]()").strip()) if p]  # noqa: RUF001
    if not parts or not all(_DECIMAL.fullmatch(p) and int(p) >= 1 for p in parts):
        raise OptionError(
            f"{_shown(text)} is not a shape",
            Location(option),
            "Write the sizes batch first, each ≥ 1: 2x4, 2,4 or [2,4].",
        )
    return check_shape(tuple(int(p) for p in parts), "the shape", Location(option))


_DECIMAL = re.compile(r"[0-9]{1,19}")  # ASCII only: '²'.isdigit() is true, int('²') fails
_SIZE_UNITS = {
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
INT64_MAX = 2**63 - 1


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:20]!r}… ({len(text)} characters)"


def _scaled(text: str, units: Mapping[str, int], commas: bool = False) -> int | None:
    """``1.5 TB`` with ``units`` (lower case) to 1500000000000, exactly (no float on the
    way); None when it is not a number and unit, or beyond 64 bits."""
    match = re.fullmatch(
        r"\s*([0-9]{1,30}(?:\.[0-9]{1,30})?)\s*([a-zA-Z]*)\s*",
        text.replace(",", "") if commas else text,
        re.ASCII,
    )
    if not match or match.group(2).lower() not in units:
        return None
    value = round(Fraction(match.group(1)) * units[match.group(2).lower()])
    return value if value <= INT64_MAX else None


def parse_size(text: str, option: str = "--max-memory") -> int:
    """``8GB``, ``512MiB``, ``1.5 TB`` or a plain byte count to bytes (decimal and binary units)."""
    size = _scaled(text, _SIZE_UNITS)
    if size is None:
        raise OptionError(
            f"{_shown(text)} is not a size",
            Location(option),
            "Write a number and a unit: 8GB, 512MiB, 2TB (at most 2^63 - 1 bytes).",
        )
    return size


_COUNT_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}


def parse_count(text: str, option: str = "--max-params") -> int:
    """``7B``, ``1.5T``, ``300M``, ``10k``, ``1,000`` or a plain number to an integer count."""
    count = _scaled(text, _COUNT_SUFFIXES, commas=True)
    if count is None:
        raise OptionError(
            f"{_shown(text)} is not a count",
            Location(option),
            "Write a number with an optional K, M, B (or G) or T: 7B, 1.5T, 300M "
            "(at most 2^63 - 1).",
        )
    return count
