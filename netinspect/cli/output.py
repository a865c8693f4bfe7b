"""Everything the command writes, and how a failure becomes one message and an exit status.

Results are rendered whole in memory and written to stdout in one write, so a reader gets
all of it or nothing; errors go to stderr as one paragraph (and under ``--format json`` as
one JSON document on stdout as well). This is the only module that prints.
"""

from __future__ import annotations

import io
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console, RenderableType

from netinspect import __version__, _fast
from netinspect.cli.options import Output, TableFormat
from netinspect.errors import (
    ExitCode,
    NetinspectError,
    OutputStreamError,
    ReaderLeftError,
    environment_error,
    internal_error,
)

if TYPE_CHECKING:
    from netinspect.render.tables import Rows

T = TypeVar("T")


def stdout_console() -> Console:
    # A pipe gets plain text (no colour codes) and wide lines, unless COLUMNS says otherwise.
    # Names print as they are: no [markup], no :emoji: codes (a spec chose them).
    wide = None if _isatty(sys.stdout) or "COLUMNS" in os.environ else 200
    return Console(width=wide, highlight=False, markup=False, emoji=False)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, markup=False, emoji=False)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed, or None: standard output shut
        return False


def rendered(renderable: RenderableType, *, soft_wrap: bool = False) -> str:
    """What printing ``renderable`` on stdout would write (colours on a terminal, plain in a
    pipe), as text: rendered whole in memory, so stdout gets it in one write or not at all.
    ``soft_wrap``: lines are not broken at the width (a terminal wraps them itself)."""
    real = stdout_console()  # how stdout is: width, terminal, colours
    from netinspect.render.sheet import Sheet, TreeSheet

    utf8 = real.encoding.lower().startswith("utf")  # rich draws ASCII guides otherwise
    if isinstance(renderable, Sheet) and not real.is_terminal:
        return renderable.plain(real.width)  # laid out as on a terminal, without styles
    if isinstance(renderable, TreeSheet) and not real.is_terminal and utf8 and _fast.enabled():
        text = renderable.plain(real.width)  # plain text, fast, for a pipe or a file
        if text is not None:
            return _without_trailing_spaces(text)
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=real.width,
        force_terminal=real.is_terminal,
        color_system=real.color_system,  # type: ignore[arg-type]  # the name rich detected
        no_color=real.no_color,
        highlight=False,
        markup=False,
        emoji=False,
    )
    console.print(renderable, soft_wrap=soft_wrap)
    text = buffer.getvalue()
    return text if real.is_terminal else _without_trailing_spaces(text)


def _without_trailing_spaces(text: str) -> str:
    """Text for a pipe or a file: rich pads every line of a table to its width, which a diff,
    a golden file or an editor only trips over."""
    return "\n".join(line.rstrip(" ") for line in text.split("\n"))


def write_stdout(data: str | bytes) -> None:
    """The whole result in one write, then flushed: a failure is reported, never half-noted.
    Bytes (an image) go to the binary stream under the text one."""
    from netinspect.entry import interrupted

    if interrupted():  # pressed, and swallowed by some library on the way: stop here
        raise KeyboardInterrupt
    stream = sys.stdout
    if stream is None:
        raise OutputStreamError("standard output is closed; nothing could be written")
    try:
        if isinstance(data, bytes):
            stream.buffer.write(data)
        else:
            stream.write(data)
        stream.flush()
    except BrokenPipeError:
        raise ReaderLeftError("the reader of the output closed it") from None
    except (OSError, ValueError) as exc:  # ValueError: a closed file object
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise OutputStreamError(f"cannot write the output to standard output: {reason}") from None


def capped(output: Output) -> bool:
    """Long tables are cut to their first and last rows on a terminal, unless --all; a pipe
    or a file gets every row (and json, markdown, csv always do)."""
    return not output.all_rows and stdout_console().is_terminal  # rich's view: FORCE_COLOR


def emit(
    report: T,
    output: Output,
    text: Callable[[T], RenderableType],
    as_json: Callable[[T], dict[str, Any]],
    table: Callable[[T], Rows] | None = None,
) -> None:
    """``report`` on stdout in the chosen format (markdown and csv: the table commands')."""
    if output.json:
        from netinspect.render.jsontext import dumps

        write_stdout(dumps(as_json(report)) + "\n")
    elif output.format in (TableFormat.markdown, TableFormat.csv):
        assert table is not None, "only the table commands offer markdown and csv"
        from netinspect.render.tables import to_csv, to_markdown

        rows = table(report)
        write_stdout(to_csv(rows) if output.format is TableFormat.csv else to_markdown(rows))
    else:
        write_stdout(rendered(text(report)))


@contextmanager
def progress(what: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""
    if not _isatty(sys.stderr):
        yield None
        return
    from rich.progress import Progress

    with Progress(console=_stderr(), transient=True) as bar:
        task = bar.add_task(what, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


# -- failures ------------------------------------------------------------------------------
@contextmanager
def reporting(output: Output) -> Iterator[None]:
    """Turn every failure into one message and the exit status the README gives it.

    Warnings torch prints while building or running a model (a TransformerEncoder's note on
    nested tensors) are not netinspect's to pass on: they show with --debug only."""
    try:
        with warnings.catch_warnings():
            if not output.debug:
                warnings.simplefilter("ignore")
            yield
    except (typer.Exit, typer.Abort, typer.BadParameter):  # Click's own: usage, exit 2
        raise
    except OutputStreamError as exc:
        _report_stream_error(exc, output.debug)
    except NetinspectError as exc:
        _report(exc, output)
    except KeyboardInterrupt:
        raise typer.Exit(interrupted_status()) from None
    except Exception as exc:
        known = environment_error(exc)
        if known is None:  # a bug in netinspect: one line, the traceback only on request
            _internal_error(exc, output)
        _report(known, output)


def _internal_error(exc: Exception, output: Output) -> NoReturn:
    from netinspect.render.units import printable

    if output.debug:
        traceback.print_exc()
    error = internal_error(exc, __version__)
    if output.json:  # scripts still get one JSON document on stdout
        write_json_error(error)
    print_stderr(printable(error.message))
    raise typer.Exit(ExitCode.INTERNAL) from None


def _report(exc: NetinspectError, output: Output) -> NoReturn:
    from netinspect.render.errors import error_text

    if output.debug:
        traceback.print_exc()
    if output.json:
        write_json_error(exc)
    else:
        print_stderr(error_text(exc))
    raise typer.Exit(exc.exit_code) from None


def _report_stream_error(exc: OutputStreamError, debug: bool) -> NoReturn:
    """On stderr whatever the format: stdout is what failed. A reader that left early
    (``| head``) ends the command as SIGPIPE would, quietly, with 141."""
    if isinstance(exc, ReaderLeftError):
        raise typer.Exit(ExitCode.OUTPUT_CLOSED) from None
    from netinspect.render.errors import error_text

    if debug:
        traceback.print_exc()
    print_stderr(error_text(exc))
    raise typer.Exit(exc.exit_code) from None


def write_json_error(exc: NetinspectError) -> None:
    from netinspect.render.errors import error_json
    from netinspect.render.jsontext import dumps

    with suppress(OutputStreamError):  # then stderr is all there is
        write_stdout(dumps(error_json(exc)) + "\n")


def print_stderr(message: RenderableType) -> None:
    with suppress(OSError, ValueError, AttributeError):  # stderr shut too: nothing to tell
        _stderr().print(message, soft_wrap=True)


_said: set[str] = set()  # what was said once already


def interrupted_status() -> int:
    """Say once that the command was interrupted; the exit status for it."""
    if "interrupted" not in _said:  # one line, however many layers see the interrupt
        _said.add("interrupted")
        print_stderr("interrupted: any file being written was left as it was")
    return ExitCode.INTERRUPTED
