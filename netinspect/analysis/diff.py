"""What changed between two models: parameters added, removed, or changed in shape or dtype.

Pure: it compares two :class:`~netinspect.analysis.params.ParamsReport` by parameter name,
as a reviewer reads a pull request that edits a spec.
"""

from __future__ import annotations

from dataclasses import dataclass

from netinspect.analysis.params import ParamRow, ParamsReport


@dataclass(frozen=True)
class Change:
    name: str
    before: ParamRow | None  # None: added
    after: ParamRow | None  # None: removed
    delta: int  # parameters this name adds; a tied name's tensor is counted at its first name


@dataclass(frozen=True)
class DiffReport:
    before: str
    after: str
    changes: tuple[Change, ...]  # in the order of the "after" model, removals last
    total_before: int
    total_after: int

    @property
    def identical(self) -> bool:
        return not self.changes


def _counted(report: ParamsReport) -> dict[str, int]:
    """Elements each name contributes to the total: 0 for a later name of a tied tensor."""
    position = {r.name: i for i, r in enumerate(report.rows)}
    return {
        r.name: 0
        if any(position.get(n, -1) < position[r.name] for n in r.shared_with)
        else (r.numel or 0)
        for r in report.rows
    }


def diff(before: ParamsReport, after: ParamsReport) -> DiffReport:
    """Parameters by name: in ``after`` only, in ``before`` only, or different shape/dtype.

    The deltas of the changes add up to the change of the totals when nothing else moved.
    """
    old = {r.name: r for r in before.rows}
    new = {r.name: r for r in after.rows}
    old_n, new_n = _counted(before), _counted(after)
    changes = [
        Change(name, old.get(name), row, new_n[name] - old_n.get(name, 0))
        for name, row in new.items()
        if name not in old or (old[name].shape, old[name].dtype) != (row.shape, row.dtype)
    ]
    changes += [
        Change(name, row, None, -old_n[name]) for name, row in old.items() if name not in new
    ]
    return DiffReport(before.model, after.model, tuple(changes), before.total, after.total)
