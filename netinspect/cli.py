"""The ``netinspect`` command: one thin function per subcommand.

Each command parses its options, calls the core, picks a renderer and prints. This is the
only module that prints or exits. torch is imported inside the commands, so ``--help``,
completion and usage errors stay instant.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console, RenderableType

from netinspect import __version__
from netinspect.errors import ExitCode, NetinspectError, OptionError

if TYPE_CHECKING:
    from netinspect.compiler import CompiledModel

T = TypeVar("T")

# torch warns on import when NumPy is absent; netinspect never needs NumPy.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")


class OutputFormat(str, Enum):
    """Output formats: text for people, json for scripts (one document on stdout)."""

    text = "text"
    json = "json"


app = typer.Typer(
    name="netinspect",
    help="See inside a PyTorch model described in a YAML spec, without allocating it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # --debug prints a plain traceback; users never see one
    context_settings={"help_option_names": ["-h", "--help"]},
)

SpecArg = Annotated[
    str,
    typer.Argument(
        help="The YAML spec: a path, or - for standard input.", metavar="SPEC", show_default=True
    ),
]
FormatOpt = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="text for people; json for scripts (stdout only)."),
]
DebugOpt = Annotated[
    bool, typer.Option("--debug", help="Show the Python traceback behind an error.")
]
MaxModulesOpt = Annotated[
    int,
    typer.Option(
        "--max-modules",
        min=1,
        help="Refuse specs that expand to more modules than this (guards repeat bombs).",
    ),
]
DEFAULT_SPEC = "model.yaml"
DEFAULT_MAX_MODULES = 1_000_000  # the compiler's default; checked equal by a test


def _stdout() -> Console:
    # A pipe gets plain text (no colour codes) and wide lines, unless COLUMNS says otherwise.
    wide = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200
    return Console(width=wide, highlight=False)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


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
) -> None:
    """See inside a PyTorch model described in a YAML spec, without allocating it."""


@contextmanager
def _reporting(output: OutputFormat, debug: bool) -> Iterator[None]:
    """Turn every failure into one message and the exit status SPEC.md section 4 gives it."""
    from netinspect.render.errors import error_json, error_text

    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except NetinspectError as exc:
        if debug:
            traceback.print_exc()
        if output is OutputFormat.json:
            typer.echo(json.dumps(error_json(exc), indent=2))
        else:
            _stderr().print(error_text(exc), soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _stderr().print("interrupted")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except Exception as exc:  # a bug in netinspect: one line, the traceback only on request
        if debug:
            traceback.print_exc()
        _stderr().print(
            f"internal error: {type(exc).__name__}: {exc}. This is a bug in netinspect "
            f"{__version__}; please report it with the spec (rerun with --debug for details).",
            soft_wrap=True,
            markup=False,
        )
        raise typer.Exit(ExitCode.INTERNAL) from None


def _compile(spec_path: str, max_modules: int) -> CompiledModel:
    import netinspect

    return netinspect.compile(netinspect.load(spec_path), max_modules=max_modules)


def _emit(
    report: T,
    output: OutputFormat,
    text: Callable[[T], RenderableType],
    as_json: Callable[[T], dict[str, Any]],
) -> None:
    if output is OutputFormat.json:
        typer.echo(json.dumps(as_json(report), indent=2))
    else:
        _stdout().print(text(report))


@app.command()
def tree(
    spec: SpecArg = DEFAULT_SPEC,
    depth: Annotated[
        int | None,
        typer.Option("--depth", "-d", min=0, help="Show this many levels below the root."),
    ] = None,
    output: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
    max_modules: MaxModulesOpt = DEFAULT_MAX_MODULES,
) -> None:
    """A tree of the model's blocks: class, arguments, parameter counts, shared and lazy marks."""
    with _reporting(output, debug):
        from netinspect.analysis import tree as tree_of
        from netinspect.render.json import tree_json
        from netinspect.render.text import tree_view

        compiled = _compile(spec, max_modules)
        _emit(tree_of(compiled.module, compiled.name, depth), output, tree_view, tree_json)


@app.command()
def params(
    spec: SpecArg = DEFAULT_SPEC,
    filter_: Annotated[
        str | None,
        typer.Option("--filter", help="Only names matching this glob, e.g. '0.block 1.*'."),
    ] = None,
    output: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
    max_modules: MaxModulesOpt = DEFAULT_MAX_MODULES,
) -> None:
    """Every named parameter with shape, dtype and count; totals count tied tensors once."""
    with _reporting(output, debug):
        from netinspect.analysis import params as params_of
        from netinspect.render.json import params_json
        from netinspect.render.text import params_table

        compiled = _compile(spec, max_modules)
        report = params_of(compiled.module, compiled.name, filter_)
        if filter_ is not None and not report.rows:
            raise OptionError(
                f"--filter {filter_!r} matches no parameter name",
                hint=_name_examples(compiled),
            )
        _emit(report, output, params_table, params_json)


def _name_examples(compiled: CompiledModel) -> str:
    names = [n for n, _ in compiled.module.named_parameters(remove_duplicate=False)]
    if not names:
        return "The model has no parameters."
    return f"Names look like {', '.join(repr(n) for n in names[:3])}; * matches any text."


def main() -> None:
    """Console-script entry point; maps Click's usage errors to exit status 2."""
    app()
