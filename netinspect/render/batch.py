"""A command over many specs: a line per spec, the summary table, and the one JSON document.

Each spec's own report renders as it does alone (``render.text``, ``render.json``); what is
here sums them up. A spec's line is a short phrase of what its report found (``309 params``,
``all 3 checks hold``), or what stopped it. No torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text

from netinspect.errors import ExitCode, InternalError, NetinspectError
from netinspect.render import units
from netinspect.render.errors import error_json
from netinspect.render.sheet import Column, Sheet
from netinspect.render.units import printable

if TYPE_CHECKING:
    from netinspect.analysis.check import Check, CheckReport, CheckRun
    from netinspect.analysis.dryrun import DryRunReport
    from netinspect.analysis.params import ParamsReport
    from netinspect.analysis.shared import SharedReport
    from netinspect.analysis.tree import TreeReport
    from netinspect.render.tables import Rows


@dataclass(frozen=True)
class SpecLine:
    """One spec of the run: its exit status alone, and what it found or what stopped it."""

    spec: str
    status: int
    summary: str = ""
    error: NetinspectError | None = None


# -- one phrase per report -----------------------------------------------------------------
def params_summary(report: ParamsReport) -> str:
    return f"{units.count(report.total)} params, {units.size(report.bytes)}"


def tree_summary(report: TreeReport) -> str:
    return f"{units.count(report.root.params)} params"


def shared_summary(report: SharedReport) -> str:
    if not report.groups:
        return "no tied parameters"
    groups = len(report.groups)
    return (
        f"{groups} group{'s' * (groups != 1)} of tied parameters, saving "
        f"{units.count(report.saved)} params"
    )


def dry_run_summary(report: DryRunReport) -> str:
    output = units.shape(report.output) if report.output is not None else "no tensor"
    return f"output {output}, {units.budget('flops', report.flops)}"


def checks_verdict(report: CheckReport) -> str:
    """``the check holds``, ``all 3 checks hold``, ``1 of 2 checks failed``."""
    failed = sum(not c.ok for c in report.checks)
    total = len(report.checks)
    if total == 1:
        return "the check failed" if failed else "the check holds"
    return f"{failed} of {total} checks failed" if failed else f"all {total} checks hold"


def failed_check(check: Check) -> str:
    """What a failed budget says: ``max-params: 130,560 (130.56K) is over the limit of
    100,000 (100.00K)``, and where a command-line limit came from."""
    limit, value = units.budget(check.kind, check.limit), units.budget(check.kind, check.value)
    if check.kind == "shape":
        said = f"expect-output: the output shape is {value}, not {limit}"
    else:
        said = f"{check.name}: {value} is over the limit of {limit}"
    option = check.where is not None and check.where.file.startswith("--")
    return f"{said} (set by {check.where})" if option else said


def check_summary(run: CheckRun) -> str:
    parts = []
    if run.budgets is not None:
        failed = [c.name for c in run.budgets.checks if not c.ok]
        verdict = checks_verdict(run.budgets)
        parts.append(f"{verdict}: {', '.join(failed)}" if failed else verdict)
    if run.weights is not None:
        parts.append("the weights load" if run.weights.ok else "the weights do not load")
    return "; ".join(parts)


# -- the whole run -------------------------------------------------------------------------
def error_summary(spec: str, error: NetinspectError) -> str:
    """The error's message, located by line and column when it is in the spec itself."""
    loc = error.location
    if isinstance(error, InternalError) or loc is None:
        return error.message
    if loc.file not in (spec, "<stdin>"):  # an option's, another file's
        return f"{loc}: {error.message}"
    if loc.line is None:
        return error.message
    column = f":{loc.column}" if loc.column is not None else ""
    return f"{loc.line}{column}: {error.message}"


_RESULTS = {
    ExitCode.OK: Text("ok", "green"),
    ExitCode.CHECK_FAILED: Text("FAILED", "bold red"),
}


def summary_sheet(lines: Sequence[SpecLine]) -> Sheet:
    """A line per spec (its result and what it found), then the count of each result."""
    sheet = Sheet(
        "",
        [Column("Spec"), Column("Result"), Column("Summary", fold=True)],  # a path stays whole
    )
    for line in lines:
        result = _RESULTS.get(ExitCode(line.status), Text("error", "bold red"))
        summary = error_summary(line.spec, line.error) if line.error else line.summary
        sheet.rows.append((printable(line.spec), result, printable(summary)))
    sheet.after = Text(tally(lines))
    return sheet


def tally(lines: Sequence[SpecLine]) -> str:
    """``3 specs: 1 ok, 1 failed, 1 error``."""
    ok = sum(line.status == ExitCode.OK for line in lines)
    failed = sum(line.status == ExitCode.CHECK_FAILED for line in lines)
    errors = len(lines) - ok - failed
    counts = [f"{ok} ok"] + [f"{failed} failed"] * bool(failed)
    counts += [f"{errors} error{'s' * (errors != 1)}"] * bool(errors)
    return f"{len(lines)} spec{'s' * (len(lines) != 1)}: {', '.join(counts)}"


def many_json(
    lines: Sequence[tuple[SpecLine, dict[str, Any] | None]], status: int
) -> dict[str, Any]:
    """``{"specs": [{"spec", "exit_status", ...}], "ok", "exit_status"}``: each entry is the
    document the spec alone gives (its report, or ``{"error": ...}``) with its path and its
    own exit status in front."""
    entries = []
    for line, doc in lines:
        body = error_json(line.error) if line.error is not None else doc or {}
        entries.append({"spec": line.spec, "exit_status": line.status, **body})
    return {"specs": entries, "ok": status == ExitCode.OK, "exit_status": status}


def many_rows(tables: Sequence[tuple[str, Rows]]) -> Rows:
    """One table of every spec's rows, each led by its spec (a ``spec`` column)."""
    header: list[str] = ["spec"]
    rows: list[list[Any]] = []
    for spec, (own_header, own_rows) in tables:
        header = ["spec", *own_header]
        rows += [[spec, *row] for row in own_rows]
    return header, rows


def section_title(spec: str) -> str:
    """The line above each spec's report, as ``head`` and ``tail`` mark files: ``==> f <==``."""
    return f"==> {printable(spec)} <=="
