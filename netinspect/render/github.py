"""``check --format github``: GitHub Actions workflow commands that annotate a pull request.

Each bad spec and each failed budget becomes ``::error file=F,line=L,col=C,title=T::message``,
which the runner shows on that line of the spec in the pull request's diff; a weights file
that loads with warnings becomes ``::warning``. A limit from the spec's ``budget:`` points at
its key; one from the command line at the spec file. The escaping is the Actions toolkit's
(``@actions/core``, ``command.ts``): in the message ``%``, ``\\r`` and ``\\n``; in a property
also ``:`` and ``,``, which separate properties. GitHub shows at most 10 errors and 10 warnings
of a step as annotations; every one is in the log.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from netinspect.errors import InternalError, Location, NetinspectError
from netinspect.render.batch import failed_check

if TYPE_CHECKING:
    from netinspect.analysis.check import Check, CheckRun
    from netinspect.analysis.loadcheck import LoadReport
    from netinspect.api import Outcome

TITLE = "netinspect check"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(
    kind: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str | None = None,
) -> str:
    """One workflow command line: ``::kind file=..,line=..,col=..,title=..::message``."""
    given = {"file": file, "line": line, "col": col, "title": title}
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in given.items() if v is not None)
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}\n"


def workflow_commands(outcomes: Sequence[Outcome[CheckRun]]) -> str:
    """The workflow commands for every spec of a ``check`` run, in the order they ran."""
    lines = []
    for outcome in outcomes:
        if outcome.error is not None:
            lines.append(_error(outcome.spec, outcome.error))
        elif outcome.report is not None:
            run = outcome.report
            if run.budgets is not None:
                lines += [_failed(outcome.spec, c) for c in run.budgets.checks if not c.ok]
            if run.weights is not None and run.weights.problems:
                lines.append(_weights(outcome.spec, run.weights))
    return "".join(lines)


def _file(spec: str) -> str | None:
    """The spec as GitHub names files: relative to the workspace (the working directory)."""
    target = ":" in spec and not os.path.exists(spec)  # a Python target names no file
    if spec in ("-", "<stdin>") or target:
        return None
    if os.path.isabs(spec):
        relative = os.path.relpath(spec)
        return spec if relative.startswith("..") else relative
    return os.path.normpath(spec)


Place = tuple[str | None, int | None, int | None]  # file, line, column


def _place(spec: str, where: Location | None) -> Place:
    """``where`` when it is a line of the spec itself; else the spec file, no line."""
    file = _file(spec)
    if where is not None and where.line is not None and file and _file(where.file) == file:
        return file, where.line, where.column
    return file, None, None


def _annotate(kind: str, message: str, place: Place, title: str) -> str:
    file, line, col = place
    return workflow_command(kind, message, file=file, line=line, col=col, title=title)


def _error(spec: str, error: NetinspectError) -> str:
    title = f"{TITLE}: internal error" if isinstance(error, InternalError) else TITLE
    message = error.full_message
    where = error.location
    place = _place(spec, where)
    if where is not None and (place[0] is None or _file(where.file) != place[0]):
        message = f"{where}: {message}"  # an option's, another file's: say which
    return _annotate("error", message, place, title)


def _failed(spec: str, check: Check) -> str:
    title = f"{TITLE}: {check.name}"
    return _annotate("error", failed_check(check), _place(spec, check.where), title)


def _weights(spec: str, report: LoadReport) -> str:
    fatal = [p for p in report.problems if p.fatal]
    shown = fatal or list(report.problems)
    names = ", ".join(f"{p.name} ({p.kind})" for p in shown[:5])
    more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
    verdict = "would FAIL" if fatal else "would work, with warnings"
    message = f"model.load_state_dict(weights) {verdict} for {report.weights}: {names}{more}"
    return workflow_command(
        "error" if fatal else "warning", message, file=_file(spec), title=f"{TITLE}: weights"
    )
