"""Budgets a team sets on a model, checked against what the other analyses measured.

Pure: it takes numbers (parameter count, bytes, FLOPs, output shape) and the limits, and
says which hold. ``netinspect check`` exits 3 when one does not. How the numbers are shown
is the renderers' (render.units.budget).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, TypeAlias

from netinspect.errors import Location

if TYPE_CHECKING:
    from netinspect.analysis.loadcheck import LoadReport

Measure: TypeAlias = int | tuple[int, ...] | None  # a count, bytes, a shape, or no tensor


@dataclass(frozen=True)
class Check:
    name: str  # the option that set it: "max-params", "expect-output", ...
    kind: Literal["count", "flops", "bytes", "shape"]
    limit: Measure
    value: Measure  # what was measured; None: the pass gave no tensor
    ok: bool
    where: Location | None = None  # where the limit was set: the spec's budget:, an option


@dataclass(frozen=True)
class CheckReport:
    model: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def check(
    model: str,
    *,
    params: int,
    n_bytes: int,
    flops: int | None = None,
    output: tuple[int, ...] | None = None,
    train_memory: int | None = None,
    max_params: int | None = None,
    max_bytes: int | None = None,
    max_flops: int | None = None,
    expect_output: tuple[int, ...] | None = None,
    max_train_memory: int | None = None,
    where: Mapping[str, Location] | None = None,
) -> CheckReport:
    """Each given limit against its measured value; a limit of None is not checked.
    ``where`` locates each limit by its name (``max-params``), for annotations."""
    checks = []
    if max_params is not None:
        checks.append(Check("max-params", "count", max_params, params, params <= max_params))
    if max_bytes is not None:
        checks.append(Check("max-bytes", "bytes", max_bytes, n_bytes, n_bytes <= max_bytes))
    if max_flops is not None:
        assert flops is not None, "max_flops needs the dry-run's FLOPs"
        checks.append(Check("max-flops", "flops", max_flops, flops, flops <= max_flops))
    if expect_output is not None:
        checks.append(
            Check("expect-output", "shape", expect_output, output, output == expect_output)
        )
    if max_train_memory is not None:
        assert train_memory is not None, "max_train_memory needs a planned training step"
        ok = train_memory <= max_train_memory
        checks.append(Check("max-train-memory", "bytes", max_train_memory, train_memory, ok))
    placed = where or {}
    return CheckReport(model, tuple(replace(c, where=placed.get(c.name)) for c in checks))


@dataclass(frozen=True)
class CheckRun:
    """What ``check`` found for one model: its budgets, and whether a weights file loads
    (``model.load_state_dict``); either may not have been asked for."""

    budgets: CheckReport | None
    weights: LoadReport | None = None

    @property
    def model(self) -> str:
        return self.budgets.model if self.budgets else self.weights.model if self.weights else ""

    @property
    def ok(self) -> bool:
        return all(r.ok for r in (self.budgets, self.weights) if r is not None)
