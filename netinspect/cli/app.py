"""The ``netinspect`` Typer app: its root options, the ``command`` decorator every
subcommand is registered with, and the console script's ``main``."""

from __future__ import annotations

import inspect
import os
import signal
import sys
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

from netinspect import __version__
from netinspect.cli.options import Output
from netinspect.cli.output import interrupted_status, print_stderr, reporting, write_json_error
from netinspect.errors import ExitCode, Location, NetinspectError

F = TypeVar("F", bound=Callable[..., None])


class _PlainFlags:
    """Help that shows a flag as a flag: Typer would print ``<bool>`` after each one
    (``--debug <bool>``), which reads as if it took a value."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]  # the Typer class's
        for param in params:
            if getattr(param, "is_bool_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class _Command(_PlainFlags, TyperCommand):
    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """The usage line as man pages write it: ``diff [OPTIONS] A B``, where Typer
        braces a required argument (``{A}``), a notation no shell help uses."""
        pieces: list[str] = super().collect_usage_pieces(ctx)
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in pieces]


class _Group(_PlainFlags, TyperGroup):
    pass


app = typer.Typer(
    name="netinspect",
    cls=_Group,
    help="See inside a PyTorch model described in a YAML spec, without allocating it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # --debug prints a plain traceback; users never see one
    context_settings={"help_option_names": ["-h", "--help"]},
)


def command(
    groups: Mapping[str, Callable[..., Any]] | None = None, name: str | None = None
) -> Callable[[F], F]:
    """Register a subcommand whose parameters named in ``groups`` are option groups.

    Each such parameter is replaced, in place, by the options of its group (a function in
    ``cli.options`` whose parameters are Typer options), so Typer shows and parses them as
    the command's own; the command receives what the group function returns. The
    ``output`` group is resolved first, so that every other failure, a bad ``--max-memory``
    too, is reported in the format asked for."""

    groups = groups or {}

    def register(func: F) -> F:
        merged: list[inspect.Parameter] = []
        owner: dict[str, str] = {}  # option parameter -> the group it belongs to
        for param in inspect.signature(func, eval_str=True).parameters.values():
            group = groups.get(param.name)
            spliced = inspect.signature(group, eval_str=True).parameters if group else None
            for option in spliced.values() if spliced else [param]:
                assert option.name not in owner, f"{option.name} twice in {func.__name__}"
                owner[option.name] = param.name
                merged.append(option.replace(kind=inspect.Parameter.KEYWORD_ONLY))

        def run(**values: Any) -> None:
            given: dict[str, dict[str, Any]] = {group: {} for group in groups}
            for key in [k for k in values if owner[k] in groups]:
                given[owner[key]][key] = values.pop(key)
            output = groups["output"](**given.pop("output")) if "output" in groups else Output()
            with reporting(output):
                resolved = {group: groups[group](**kw) for group, kw in given.items()}
                func(**values, **resolved, **({"output": output} if "output" in groups else {}))

        run.__signature__ = inspect.Signature(merged)  # type: ignore[attr-defined]  # read by Typer
        run.__name__, run.__doc__ = func.__name__, func.__doc__
        app.command(name, cls=_Command)(run)
        return func

    return register


def _version(value: bool) -> None:
    if value:
        typer.echo(f"netinspect {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    no_color: Annotated[
        bool,
        typer.Option("--no-color", help="No colours, even on a terminal (as NO_COLOR=1)."),
    ] = False,
) -> None:
    """See inside a PyTorch model described in a YAML spec, without allocating it."""
    if no_color:
        os.environ["NO_COLOR"] = "1"  # rich's consoles, made per command, all read it


def main() -> None:
    """Console-script entry point: run the command, report what went wrong, exit."""
    from netinspect._fast import process
    from netinspect.entry import interrupted

    process.start()  # no cycle collector while nothing real is allocated
    try:
        status = _invoke(sys.argv[1:])
    except KeyboardInterrupt:  # between commands' own handling: parsing, rendering help
        status = interrupted_status()
    if interrupted() and status == 0:  # swallowed, and nothing was written: say so
        status = interrupted_status()
    # A Ctrl-C now would only print a traceback: the work is done, so it waits for exit.
    # Files are written whole before this (files.atomic_write).
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    from netinspect.api import user_code_imported

    process.leave(status, user_code=user_code_imported())


def _invoke(args: list[str]) -> int:
    """Run the app without Click's own exit handling, so a usage error (exit 2) can be a
    JSON document too, when the command line asked for JSON."""
    try:
        result = app(args=args, prog_name="netinspect", standalone_mode=False)
    except typer.Abort:
        print_stderr("aborted")
        return 1
    except Exception as exc:
        if not _is_usage_error(exc):
            print_stderr(f"internal error: {type(exc).__name__}: {exc}")
            return ExitCode.INTERNAL
        _usage_error(exc, args)
        return int(exc.exit_code)  # type: ignore[attr-defined]  # checked by _is_usage_error
    status = result if isinstance(result, int) else 0
    if status == ExitCode.INTERRUPTED:  # Click turns a Ctrl-C while parsing into 130
        interrupted_status()
    return status


def _is_usage_error(exc: Exception) -> bool:
    """Click's errors (Typer vendors Click, or uses it: no one import names them both)."""
    return hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)


def _usage_error(exc: Any, args: list[str]) -> None:
    """Click's message on stderr as Typer shows it, and under --format json the error
    document on stdout as well, with the option as its location."""
    try:
        from typer import rich_utils

        rich_utils.rich_format_error(exc)
    except Exception:  # rich help unavailable: Click's plain message
        with suppress(OSError, ValueError):
            exc.show()
    if _wants_json(args):
        param = getattr(exc, "param", None)
        option = param.opts[0] if param is not None and param.opts else None
        option = option or getattr(exc, "option_name", None)  # an unknown option's name
        where = Location(option) if option else None
        write_json_error(NetinspectError(exc.format_message(), where))


def _wants_json(args: list[str]) -> bool:
    pairs = zip(args, [*args[1:], ""], strict=True)
    return any(
        (a in ("--format", "-f") and b == "json") or a in ("--format=json", "-fjson")
        for a, b in pairs
    )
