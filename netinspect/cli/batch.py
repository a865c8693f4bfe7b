"""A command over many specs, in this one process: ``netinspect check configs/*.yaml``.

Each SPEC (or each file a glob matches: ``api.expand_specs``) runs on its own
(``api.attempt``): a spec that fails is reported on stderr as it fails, and the others still
run. What they found is written once at the end: each report under its spec's name, then a
line per spec; or one JSON document (``render.batch.many_json``); or one markdown or CSV
table with a ``spec`` column. The exit status is the worst of theirs (``worst_status``).
With one SPEC a command prints exactly what it always has.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from netinspect import api
from netinspect.cli.options import Output, TableFormat
from netinspect.cli.output import emit, print_stderr, rendered, write_json_error, write_stdout
from netinspect.errors import ExitCode, InternalError, worst_status
from netinspect.render.batch import SpecLine, many_json, many_rows, section_title, summary_sheet

if TYPE_CHECKING:
    from rich.console import RenderableType

    from netinspect.render.tables import Rows

R = TypeVar("R")


def each_spec(
    arguments: Sequence[str],
    work: Callable[[str], R],
    output: Output,
    *,
    text: Callable[[R], RenderableType],
    as_json: Callable[[R], dict[str, Any]],
    summary: Callable[[R], str],
    table: Callable[[R], Rows] | None = None,
    failed: Callable[[R], bool] = lambda report: False,
    annotate: Callable[[Sequence[api.Outcome[R]]], str] | None = None,
    record: Callable[[Sequence[api.Outcome[R]]], None] | None = None,
) -> None:
    """Run ``work`` on each spec and report: one spec as it always was, many as above.
    ``failed(report)``: a check that failed (exit status 3). ``annotate`` (``check
    --format github``) writes the run's annotations, then the line per spec, in place of
    the reports; ``record`` writes a report file of the run (``--junit-xml``). With
    either, one spec too runs as one of many."""
    specs = api.expand_specs(arguments)
    if len(specs) == 1 and annotate is None and record is None:
        report = work(specs[0])
        emit(report, output, text, as_json, table)
        if failed(report):
            raise typer.Exit(ExitCode.CHECK_FAILED)
        return
    outcomes = run_each(specs, work, failed, output, say_errors=annotate is None)
    lines = spec_lines(outcomes, summary)
    status = worst_status(line.status for line in lines)
    if record is not None:  # the CI's record first: it is written whatever stdout does
        record(outcomes)
    if annotate is not None:
        write_stdout(annotate(outcomes) + rendered(summary_sheet(lines)))
    elif len(specs) == 1:
        _alone(outcomes[0], output, text, as_json, table)
    else:
        write_stdout(_many(outcomes, lines, status, output, text, as_json, table))
    finish(status)


def _many(
    outcomes: Sequence[api.Outcome[R]],
    lines: Sequence[SpecLine],
    status: int,
    output: Output,
    text: Callable[[R], RenderableType],
    as_json: Callable[[R], dict[str, Any]],
    table: Callable[[R], Rows] | None,
) -> str:
    """The output of a run over many specs, in the format asked for."""
    if output.json:
        from netinspect.render.jsontext import dumps

        docs = [as_json(o.report) if o.report is not None else None for o in outcomes]
        return dumps(many_json(list(zip(lines, docs, strict=True)), status)) + "\n"
    if output.format in (TableFormat.markdown, TableFormat.csv):
        assert table is not None, "only the table commands offer markdown and csv"
        from netinspect.render.tables import to_csv, to_markdown

        rows = many_rows([(o.spec, table(o.report)) for o in outcomes if o.report is not None])
        return to_csv(rows) if output.format is TableFormat.csv else to_markdown(rows)
    return sections(outcomes, text) + rendered(summary_sheet(lines))


def _alone(
    outcome: api.Outcome[R],
    output: Output,
    text: Callable[[R], RenderableType],
    as_json: Callable[[R], dict[str, Any]],
    table: Callable[[R], Rows] | None,
) -> None:
    """One spec's output as the command gives it alone (its error was said on stderr)."""
    if outcome.report is not None:
        emit(outcome.report, output, text, as_json, table)
    elif output.json and outcome.error is not None:
        write_json_error(outcome.error)


def run_each(
    specs: Sequence[str],
    work: Callable[[str], R],
    failed: Callable[[R], bool],
    output: Output,
    *,
    say_errors: bool = True,
) -> list[api.Outcome[R]]:
    """Each spec's outcome; an error is said on stderr as it happens (unless the format
    carries it: JSON, or ``say_errors`` False), with its traceback under ``--debug``."""
    outcomes = []
    for spec in specs:
        outcome = api.attempt(spec, work, failed)
        if outcome.error is not None:
            _say(outcome, output, say_errors and not output.json)
        outcomes.append(outcome)
    return outcomes


def _say(outcome: api.Outcome[Any], output: Output, on_stderr: bool) -> None:
    from netinspect.render.errors import error_text
    from netinspect.render.units import printable

    assert outcome.error is not None
    if output.debug and outcome.exception is not None:
        traceback.print_exception(outcome.exception)
    if not on_stderr:
        return
    if isinstance(outcome.error, InternalError):  # one line, as a bug is told alone
        print_stderr(printable(outcome.error.message))
    else:
        print_stderr(error_text(outcome.error))


def spec_lines(outcomes: Sequence[api.Outcome[R]], summary: Callable[[R], str]) -> list[SpecLine]:
    return [
        SpecLine(o.spec, o.status, summary(o.report) if o.report is not None else "", o.error)
        for o in outcomes
    ]


def sections(outcomes: Sequence[api.Outcome[R]], text: Callable[[R], RenderableType]) -> str:
    """Each report as it shows alone, under its spec's name; a spec that failed has none
    (its error went to stderr, and its line in the summary says it)."""
    from rich.text import Text

    parts = []
    for outcome in outcomes:
        if outcome.report is not None:
            heading = Text(section_title(outcome.spec), "bold")
            title = rendered(heading, soft_wrap=True)  # one line, however long the path
            parts.append(title + rendered(text(outcome.report)))
    return "\n".join(parts)


def finish(status: int) -> None:
    if status != ExitCode.OK:
        raise typer.Exit(status)
