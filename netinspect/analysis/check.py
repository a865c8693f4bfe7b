"""Budgets a team sets on a model, checked against what the other analyses measured.

Pure: it takes numbers (parameter count, bytes, FLOPs, output shape) and the limits, and
says which hold. ``netinspect check`` exits 3 when one does not.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    name: str  # the option that set it: "max-params", "expect-output", ...
    limit: str  # as a person reads it: "7B", "[2, 10]"
    value: str  # what was measured, in the same units
    ok: bool


@dataclass(frozen=True)
class CheckReport:
    model: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def _human(n: int) -> str:
    """Counts as budgets are written: 7.00B, 1.50T, 309."""
    for div, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= div:
            return f"{n / div:.2f}{suffix} ({n:,})"
    return f"{n:,}"


def check(
    model: str,
    *,
    params: int,
    n_bytes: int,
    flops: int | None = None,
    output: tuple[int, ...] | None = None,
    max_params: int | None = None,
    max_bytes: int | None = None,
    max_flops: int | None = None,
    expect_output: tuple[int, ...] | None = None,
) -> CheckReport:
    """Each given limit against its measured value; a limit of None is not checked."""
    checks = []
    if max_params is not None:
        checks.append(Check("max-params", _human(max_params), _human(params), params <= max_params))
    if max_bytes is not None:
        checks.append(
            Check("max-bytes", f"{max_bytes:,} B", f"{n_bytes:,} B", n_bytes <= max_bytes)
        )
    if max_flops is not None:
        assert flops is not None, "max_flops needs the dry-run's FLOPs"
        checks.append(Check("max-flops", _human(max_flops), _human(flops), flops <= max_flops))
    if expect_output is not None:
        checks.append(
            Check(
                "expect-output",
                str(list(expect_output)),
                str(list(output)) if output is not None else "no tensor",
                output == expect_output,
            )
        )
    return CheckReport(model, tuple(checks))
