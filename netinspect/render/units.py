"""Human units for counts and sizes, shared by every text renderer."""

from __future__ import annotations


def count(n: int) -> str:
    """``1,234,567``: exact, with thousands separators."""
    return f"{n:,}"


def size(n_bytes: int) -> str:
    """Binary units, as memory is sized: ``676 B``, ``1.50 KiB``, ``140.00 GiB``."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{n_bytes} B" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def percent(share: float | None) -> str:
    """A share of a total: ``49.0%``, ``0.2%``, ``<0.1%`` for a nonzero sliver; none: ``""``."""
    if share is None:
        return ""
    if 0 < share < 0.001:
        return "<0.1%"
    return f"{share * 100:.1f}%"


def shape(dims: tuple[int, ...] | None) -> str:
    return "uninitialized" if dims is None else f"[{', '.join(map(str, dims))}]"


def si(n: int) -> str:
    """Decimal prefixes for FLOPs, as papers quote them: ``4.17 M``, ``1.20 T``; small: ``160 ``."""
    value = float(n)
    for prefix in ("", "K", "M", "G", "T", "P"):
        if value < 1000 or prefix == "P":
            return f"{n} " if not prefix else f"{value:.2f} {prefix}"
        value /= 1000
    raise AssertionError("unreachable")


def printable(text: str) -> str:
    """``text`` with every control or invisible character written as an escape (``\\x1b``,
    ``\\u202e``), so a name shows as what it is and never restyles or reorders a terminal.
    Specs cannot hold such names; a Python target's module names and torch's messages can."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def budget(kind: str, value: int | tuple[int, ...] | None) -> str:
    """A budget's limit or measured value as ``check`` shows it (text and JSON alike), in
    the units of the other commands: the exact number, then its rounded form, as dry-run's
    totals are written (``8,290,304 (8.29 MFLOPs)``, ``130,560 (130.56K)``,
    ``522,240 B (510.00 KiB)``); shapes as lists (``[2, 10]``), no tensor as such."""
    if value is None:
        return "no tensor"
    if isinstance(value, tuple):
        return str(list(value))
    if kind == "bytes":
        return f"{value:,} B" if value < 1024 else f"{value:,} B ({size(value)})"
    if kind == "flops":
        return f"{value:,} FLOPs" if value < 1000 else f"{value:,} ({si(value)}FLOPs)"
    return f"{value:,}" if value < 1000 else f"{value:,} ({_as_budget(value)})"


def _as_budget(n: int) -> str:
    """A count as budgets are written: ``130.56K``, ``7.00B``, ``1.20T``."""
    for div, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= div:
            return f"{n / div:.2f}{suffix}"
    return str(n)
