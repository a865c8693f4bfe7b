"""The ``netinspect`` command: one thin function per subcommand.

Each command parses its options, calls the core, picks a renderer and prints. This is the
only module that prints or exits. torch is imported inside the commands, so ``--help``,
completion and usage errors stay instant.
"""

from __future__ import annotations

import gc
import io
import json
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console, RenderableType

from netinspect import __version__
from netinspect.dtypes import InputDtype, ParamDtype
from netinspect.errors import (
    ExitCode,
    Location,
    NetinspectError,
    OptionError,
    OutputStreamError,
    ReaderLeftError,
)
from netinspect.limits import Limits
from netinspect.spec.schemes import SCHEME_NAMES

if TYPE_CHECKING:
    from netinspect.analysis.dryrun import DryRunReport
    from netinspect.build.compiler import CompiledModel
    from netinspect.render.tables import Rows

T = TypeVar("T")


class OutputFormat(str, Enum):
    """text for people; json for scripts (one document on stdout); markdown and csv for the
    table commands (params, dry-run)."""

    text = "text"
    json = "json"
    markdown = "markdown"
    csv = "csv"


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
    typer.Option(
        "--format",
        "-f",
        help="text for people; json for scripts; markdown or csv for params and dry-run.",
    ),
]
AllRowsOpt = Annotated[
    bool,
    typer.Option(
        "--all",
        help="Every row on a terminal too (long tables show their first 30 and last 10 there).",
    ),
]
DebugOpt = Annotated[
    bool, typer.Option("--debug", help="Show the Python traceback behind an error.")
]
MaxModulesOpt = Annotated[
    int,
    typer.Option(
        "--max-modules",
        min=1,
        envvar="NETINSPECT_MAX_MODULES",
        rich_help_panel="Limits",
        help="Refuse specs that expand to more modules than this (guards repeat bombs).",
    ),
]
MaxTensorsOpt = Annotated[
    int,
    typer.Option(
        "--max-tensors",
        min=1,
        envvar="NETINSPECT_MAX_TENSORS",
        rich_help_panel="Limits",
        help="Refuse specs whose layers build more parameters and buffers than this.",
    ),
]
MaxSpecSizeOpt = Annotated[
    str | None,
    typer.Option(
        "--max-spec-size",
        envvar="NETINSPECT_MAX_SPEC_SIZE",
        rich_help_panel="Limits",
        help="Read at most this much of a spec, e.g. 4MB.",
        show_default="1MiB",
    ),
]
MaxNodesOpt = Annotated[
    int,
    typer.Option(
        "--max-nodes",
        min=1,
        envvar="NETINSPECT_MAX_NODES",
        rich_help_panel="Limits",
        help="Refuse specs with more YAML nodes than this after aliases (guards alias bombs).",
    ),
]
MaxDepthOpt = Annotated[
    int,
    typer.Option(
        "--max-depth",
        min=1,
        envvar="NETINSPECT_MAX_DEPTH",
        rich_help_panel="Limits",
        help="Refuse specs that nest deeper than this.",
    ),
]
MaxMemoryOpt = Annotated[
    str | None,
    typer.Option(
        "--max-memory",
        envvar="NETINSPECT_MAX_MEMORY",
        rich_help_panel="Limits",
        help="Memory a real (cpu) run may take, e.g. 8GB.",
        show_default="what is free",
    ),
]
InputOpt = Annotated[
    str | None,
    typer.Option(
        "--input",
        "-i",
        help="Example input shape, batch first: 2x4, 2,4 or [2,4] (overrides the spec's input:).",
    ),
]
InputDtypeOpt = Annotated[
    InputDtype | None,
    typer.Option("--input-dtype", help="Input dtype; int64 for index inputs (Embedding)."),
]


AllowImportOpt = Annotated[
    bool,
    typer.Option(
        "--allow-import",
        help="Allow SPEC to be Python code, package.module:callable (e.g. torch.nn:Transformer).",
    ),
]
ImportPathOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--import-path",
        help="Where to find your modules, after the installed packages (repeatable) "
        "[default: the current directory].",
        metavar="DIR",
    ),
]


class Device(str, Enum):
    """Where a dry run happens: meta computes shapes only; cpu runs on real random data."""

    meta = "meta"
    cpu = "cpu"


DEFAULT_SPEC = "model.yaml"
DEFAULT_LIMITS = Limits()


def _stdout() -> Console:
    # A pipe gets plain text (no colour codes) and wide lines, unless COLUMNS says otherwise.
    # Names print as they are: no [markup], no :emoji: codes (a spec chose them).
    wide = None if _isatty(sys.stdout) or "COLUMNS" in os.environ else 200
    return Console(width=wide, highlight=False, markup=False, emoji=False)


def _rendered(renderable: RenderableType) -> str:
    """What printing ``renderable`` on stdout would write (colours on a terminal, plain in a
    pipe), as text: rendered whole in memory, so stdout gets it in one write or not at all."""
    real = _stdout()  # how stdout is: width, terminal, colours
    from netinspect.render.sheet import Sheet, TreeSheet

    utf8 = real.encoding.lower().startswith("utf")  # rich draws ASCII guides otherwise
    if isinstance(renderable, (Sheet, TreeSheet)) and not real.is_terminal and utf8:
        text = renderable.plain(real.width)  # plain text, fast, for a pipe or a file
        if text is not None:
            return text
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
    console.print(renderable)
    return buffer.getvalue()


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, markup=False, emoji=False)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed, or None: standard output shut
        return False


def _write_stdout(text: str) -> None:
    """The whole result in one write, then flushed: a failure is reported, never half-noted."""
    from netinspect.entry import interrupted

    if interrupted():  # pressed, and swallowed by some library on the way: stop here
        raise KeyboardInterrupt
    stream = sys.stdout
    if stream is None:
        raise OutputStreamError("standard output is closed; nothing could be written")
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise ReaderLeftError("the reader of the output closed it") from None
    except (OSError, ValueError) as exc:  # ValueError: a closed file object
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise OutputStreamError(f"cannot write the output to standard output: {reason}") from None


def _capped(all_rows: bool) -> bool:
    """Long tables are cut to their first and last rows on a terminal, unless --all; a pipe
    or a file gets every row (and json, markdown, csv always do)."""
    return not all_rows and _stdout().is_terminal  # rich's view: FORCE_COLOR counts


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
        bool, typer.Option("--no-color", help="No colours, even on a terminal (as NO_COLOR=1).")
    ] = False,
) -> None:
    """See inside a PyTorch model described in a YAML spec, without allocating it."""
    if no_color:
        os.environ["NO_COLOR"] = "1"  # rich's consoles, made per command, all read it


@contextmanager
def _reporting(output: OutputFormat, debug: bool) -> Iterator[None]:
    """Turn every failure into one message and the exit status the README gives it.

    Warnings torch prints while building or running a model (a TransformerEncoder's note on
    nested tensors) are not netinspect's to pass on: they show with --debug only."""
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.simplefilter("ignore")
            yield
    except (typer.Exit, typer.Abort, typer.BadParameter):  # Click's own: usage, exit 2
        raise
    except OutputStreamError as exc:
        _report_stream_error(exc, debug)
    except NetinspectError as exc:
        _report(exc, output, debug)
    except KeyboardInterrupt:
        raise typer.Exit(_interrupted()) from None
    except (MemoryError, RecursionError, OSError) as exc:
        _report(_environment_error(exc), output, debug)
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("netinspect"):  # our own import is wrong: a bug
            _internal_error(exc, output, debug)
        _report(_environment_error(exc), output, debug)
    except Exception as exc:  # a bug in netinspect: one line, the traceback only on request
        _internal_error(exc, output, debug)


def _internal_error(exc: Exception, output: OutputFormat, debug: bool) -> NoReturn:
    from netinspect.render.units import printable

    if debug:
        traceback.print_exc()
    message = (
        f"internal error: {type(exc).__name__}: {exc}. This is a bug in netinspect "
        f"{__version__}; please report it with the spec (rerun with --debug for details)."
    )
    if output is OutputFormat.json:  # scripts still get one JSON document on stdout
        _write_json_error(NetinspectError(message))
    _print_stderr(printable(message))
    raise typer.Exit(ExitCode.INTERNAL) from None


def _report(exc: NetinspectError, output: OutputFormat, debug: bool) -> NoReturn:
    from netinspect.render.errors import error_text

    if debug:
        traceback.print_exc()
    if output is OutputFormat.json:
        _write_json_error(exc)
    else:
        _print_stderr(error_text(exc))
    raise typer.Exit(exc.exit_code) from None


def _report_stream_error(exc: OutputStreamError, debug: bool) -> NoReturn:
    """On stderr whatever the format: stdout is what failed. A reader that left early
    (``| head``) ends the command as SIGPIPE would, quietly, with 141."""
    if isinstance(exc, ReaderLeftError):
        raise typer.Exit(ExitCode.OUTPUT_CLOSED) from None
    from netinspect.render.errors import error_text

    if debug:
        traceback.print_exc()
    _print_stderr(error_text(exc))
    raise typer.Exit(exc.exit_code) from None


def _write_json_error(exc: NetinspectError) -> None:
    from netinspect.render.errors import error_json
    from netinspect.render.jsontext import dumps

    with suppress(OutputStreamError):  # then stderr is all there is
        _write_stdout(dumps(error_json(exc)) + "\n")


def _print_stderr(message: RenderableType) -> None:
    with suppress(OSError, ValueError, AttributeError):  # stderr shut too: nothing to tell
        _stderr().print(message, soft_wrap=True)


_said: set[str] = set()  # what was said once already


def _interrupted() -> int:
    if "interrupted" not in _said:  # one line, however many layers see the interrupt
        _said.add("interrupted")
        _print_stderr("interrupted: any file being written was left as it was")
    return ExitCode.INTERRUPTED


def _environment_error(exc: BaseException) -> NetinspectError:
    """A failure of the machine or the installation, not of netinspect: exit 1, named."""
    if isinstance(exc, MemoryError):
        return NetinspectError(
            "the machine ran out of memory",
            hint="Inspect on the meta device (the default), or lower --max-memory so the run "
            "is refused before it starts.",
        )
    if isinstance(exc, RecursionError):
        return NetinspectError(
            "the model nests too deeply for Python's stack",
            hint="Lower --max-depth back toward its default of 100, or flatten the blocks.",
        )
    if isinstance(exc, ModuleNotFoundError):
        return NetinspectError(
            f"a package netinspect needs cannot be imported: {exc}",
            hint="Reinstall netinspect with its dependencies (make install).",
        )
    assert isinstance(exc, OSError)
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    return NetinspectError(f"the operating system refused: {exc.strerror or exc}{where}")


def _limits(
    max_nodes: int,
    max_depth: int,
    max_modules: int,
    max_tensors: int,
    max_spec_size: str | None,
    max_memory: str | None = None,
) -> Limits:
    from netinspect.cli.options import parse_size

    memory = parse_size(max_memory) if max_memory is not None else None
    spec_bytes = (
        parse_size(max_spec_size, "--max-spec-size")
        if max_spec_size is not None
        else DEFAULT_LIMITS.max_spec_bytes
    )
    return Limits(
        max_spec_bytes=spec_bytes,
        max_nodes=max_nodes,
        max_depth=max_depth,
        max_modules=max_modules,
        max_tensors=max_tensors,
        max_memory=memory,
    )


def _compile(
    spec_path: str,
    limits: Limits,
    device: Device = Device.meta,
    dtype: ParamDtype | None = None,
    allow_import: bool = False,
    import_path: list[str] | None = None,
) -> CompiledModel:
    import netinspect
    from netinspect.build.targets import build_target, is_target

    if is_target(spec_path):
        _skip_dynamo_import()
        dtype_name = dtype.value if dtype else None
        return build_target(spec_path, device.value, allow_import, dtype_name, import_path or ())

    spec = netinspect.load(spec_path, limits)
    _skip_dynamo_import()  # torch: only once the spec itself is sound
    from netinspect.run import build

    dtype_name = dtype.value if dtype else None
    return build(spec, device.value, dtype_name, limits)


def _skip_dynamo_import() -> None:
    """This process never compiles, so meta kernels need not import torch._dynamo."""
    from netinspect._fast.dynamo import skip_dynamo_import

    skip_dynamo_import()


def _run(
    compiled: CompiledModel,
    shape: str | None,
    input_dtype: InputDtype | None,
    device: Device = Device.meta,
) -> DryRunReport:
    from netinspect.run import choose_input, forward

    chosen = choose_input(compiled.spec, shape, input_dtype.value if input_dtype else None)
    return forward(compiled, chosen, device.value)


def _dry_run(
    spec_path: str,
    limits: Limits,
    device: Device,
    dtype: ParamDtype | None,
    shape: str | None,
    input_dtype: InputDtype | None,
    allow_import: bool,
    import_path: list[str] | None,
) -> DryRunReport:
    """A dry run; for a spec on a real device, planned whole on meta before allocating."""
    from netinspect.build.targets import is_target

    if device is Device.meta or is_target(spec_path):
        compiled = _compile(spec_path, limits, device, dtype, allow_import, import_path)
        return _run(compiled, shape, input_dtype, device)
    import netinspect

    spec = netinspect.load(spec_path, limits)
    _skip_dynamo_import()
    from netinspect.run import choose_input, run_for_real

    chosen = choose_input(spec, shape, input_dtype.value if input_dtype else None)
    return run_for_real(spec, chosen, device.value, dtype.value if dtype else None, limits)


def _inspected(
    spec_path: str,
    limits: Limits,
    shape: str | None,
    input_dtype: InputDtype | None,
    allow_import: bool = False,
    import_path: list[str] | None = None,
) -> CompiledModel:
    """The model to inspect; given an input, after one dry run has shaped its lazy layers."""
    compiled = _compile(spec_path, limits, allow_import=allow_import, import_path=import_path)
    if shape is not None or input_dtype is not None:
        _run(compiled, shape, input_dtype)
    return compiled


def _emit(
    report: T,
    output: OutputFormat,
    text: Callable[[T], RenderableType],
    as_json: Callable[[T], dict[str, Any]],
    table: Callable[[T], Rows] | None = None,
) -> None:
    if output is OutputFormat.json:
        from netinspect.render.jsontext import dumps

        _write_stdout(dumps(as_json(report)) + "\n")
    elif output in (OutputFormat.markdown, OutputFormat.csv):
        if table is None:
            raise typer.BadParameter(
                f"{output.value} is for the table commands (params, dry-run); use text or json",
                param_hint="--format",
            )
        from netinspect.render.tables import to_csv, to_markdown

        rows = table(report)
        _write_stdout(to_csv(rows) if output is OutputFormat.csv else to_markdown(rows))
    else:
        _write_stdout(_rendered(text(report)))


@app.command()
def tree(
    spec: SpecArg = DEFAULT_SPEC,
    depth: Annotated[
        int | None,
        typer.Option("--depth", "-d", min=0, help="Show this many levels below the root."),
    ] = None,
    input_shape: InputOpt = None,
    input_dtype: InputDtypeOpt = None,
    allow_import: AllowImportOpt = False,
    import_path: ImportPathOpt = None,
    output: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
    max_modules: MaxModulesOpt = DEFAULT_LIMITS.max_modules,
    max_tensors: MaxTensorsOpt = DEFAULT_LIMITS.max_tensors,
    max_spec_size: MaxSpecSizeOpt = None,
    max_nodes: MaxNodesOpt = DEFAULT_LIMITS.max_nodes,
    max_depth: MaxDepthOpt = DEFAULT_LIMITS.max_depth,
) -> None:
    """A tree of the model's blocks: class, arguments, parameter counts, shared and lazy marks."""
    with _reporting(output, debug):
        compiled = _inspected(
            spec,
            _limits(max_nodes, max_depth, max_modules, max_tensors, max_spec_size),
            input_shape,
            input_dtype,
            allow_import,
            import_path,
        )
        from netinspect.analysis import tree as tree_of
        from netinspect.render.json import tree_json
        from netinspect.render.text import tree_view

        _emit(tree_of(compiled.module, compiled.name, depth), output, tree_view, tree_json)


@app.command()
def params(
    spec: SpecArg = DEFAULT_SPEC,
    filter_: Annotated[
        str | None,
        typer.Option("--filter", help="Only names matching this glob, e.g. '0.block 1.*'."),
    ] = None,
    input_shape: InputOpt = None,
    input_dtype: InputDtypeOpt = None,
    allow_import: AllowImportOpt = False,
    import_path: ImportPathOpt = None,
    output: FormatOpt = OutputFormat.text,
    all_rows: AllRowsOpt = False,
    debug: DebugOpt = False,
    max_modules: MaxModulesOpt = DEFAULT_LIMITS.max_modules,
    max_tensors: MaxTensorsOpt = DEFAULT_LIMITS.max_tensors,
    max_spec_size: MaxSpecSizeOpt = None,
    max_nodes: MaxNodesOpt = DEFAULT_LIMITS.max_nodes,
    max_depth: MaxDepthOpt = DEFAULT_LIMITS.max_depth,
) -> None:
    """Every named parameter with shape, dtype and count; totals count tied tensors once."""
    with _reporting(output, debug):
        compiled = _inspected(
            spec,
            _limits(max_nodes, max_depth, max_modules, max_tensors, max_spec_size),
            input_shape,
            input_dtype,
            allow_import,
            import_path,
        )
        from netinspect.analysis import params as params_of
        from netinspect.render.json import params_json
        from netinspect.render.text import params_table

        report = params_of(compiled.module, compiled.name, filter_)
        if filter_ is not None and not report.rows:
            raise OptionError(
                f"--filter {filter_!r} matches no parameter name",
                hint=_name_examples(compiled),
            )
        from netinspect.render.tables import params_rows

        capped = _capped(all_rows)
        _emit(report, output, lambda r: params_table(r, capped), params_json, params_rows)


def _name_examples(compiled: CompiledModel) -> str:
    names = [n for n, _ in compiled.module.named_parameters(remove_duplicate=False)]
    if not names:
        return "The model has no parameters."
    return f"Names look like {', '.join(repr(n) for n in names[:3])}; * matches any text."


@app.command()
def shared(
    spec: SpecArg = DEFAULT_SPEC,
    input_shape: InputOpt = None,
    input_dtype: InputDtypeOpt = None,
    allow_import: AllowImportOpt = False,
    import_path: ImportPathOpt = None,
    output: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
    max_modules: MaxModulesOpt = DEFAULT_LIMITS.max_modules,
    max_tensors: MaxTensorsOpt = DEFAULT_LIMITS.max_tensors,
    max_spec_size: MaxSpecSizeOpt = None,
    max_nodes: MaxNodesOpt = DEFAULT_LIMITS.max_nodes,
    max_depth: MaxDepthOpt = DEFAULT_LIMITS.max_depth,
) -> None:
    """Groups of parameter names that are one tensor (tied weights) and what the ties save."""
    with _reporting(output, debug):
        compiled = _inspected(
            spec,
            _limits(max_nodes, max_depth, max_modules, max_tensors, max_spec_size),
            input_shape,
            input_dtype,
            allow_import,
            import_path,
        )
        from netinspect.analysis import shared as shared_of
        from netinspect.render.json import shared_json
        from netinspect.render.text import shared_table

        _emit(shared_of(compiled.module, compiled.name), output, shared_table, shared_json)


@app.command("dry-run")
def dry_run(
    spec: SpecArg = DEFAULT_SPEC,
    input_shape: InputOpt = None,
    input_dtype: InputDtypeOpt = None,
    allow_import: AllowImportOpt = False,
    import_path: ImportPathOpt = None,
    device: Annotated[
        Device,
        typer.Option("--device", help="meta: shapes only, nothing allocated; cpu: real data."),
    ] = Device.meta,
    dtype: Annotated[
        ParamDtype | None, typer.Option("--dtype", help="Parameter dtype (overrides the spec's).")
    ] = None,
    output: FormatOpt = OutputFormat.text,
    all_rows: AllRowsOpt = False,
    debug: DebugOpt = False,
    max_modules: MaxModulesOpt = DEFAULT_LIMITS.max_modules,
    max_tensors: MaxTensorsOpt = DEFAULT_LIMITS.max_tensors,
    max_spec_size: MaxSpecSizeOpt = None,
    max_nodes: MaxNodesOpt = DEFAULT_LIMITS.max_nodes,
    max_depth: MaxDepthOpt = DEFAULT_LIMITS.max_depth,
    max_memory: MaxMemoryOpt = None,
) -> None:
    """One forward pass: every call's input and output shape, params and FLOPs; lazy layers
    get their shapes."""
    with _reporting(output, debug):
        limits = _limits(max_nodes, max_depth, max_modules, max_tensors, max_spec_size, max_memory)
        from netinspect.render.json import dry_run_json
        from netinspect.render.tables import dry_run_rows
        from netinspect.render.text import dry_run_table

        report = _dry_run(
            spec, limits, device, dtype, input_shape, input_dtype, allow_import, import_path
        )
        capped = _capped(all_rows)
        _emit(report, output, lambda r: dry_run_table(r, capped), dry_run_json, dry_run_rows)


@app.command()
def check(
    spec: SpecArg = DEFAULT_SPEC,
    max_params: Annotated[
        str | None, typer.Option("--max-params", help="At most this many parameters: 7B, 300M.")
    ] = None,
    max_bytes: Annotated[
        str | None, typer.Option("--max-bytes", help="Parameters take at most: 2GB, 512MiB.")
    ] = None,
    max_flops: Annotated[
        str | None,
        typer.Option("--max-flops", help="One forward pass costs at most: 1.5T (dry-runs)."),
    ] = None,
    expect_output: Annotated[
        str | None,
        typer.Option("--expect-output", help="The output shape must be this: 2x10 (dry-runs)."),
    ] = None,
    input_shape: InputOpt = None,
    input_dtype: InputDtypeOpt = None,
    allow_import: AllowImportOpt = False,
    import_path: ImportPathOpt = None,
    output: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
    max_modules: MaxModulesOpt = DEFAULT_LIMITS.max_modules,
    max_tensors: MaxTensorsOpt = DEFAULT_LIMITS.max_tensors,
    max_spec_size: MaxSpecSizeOpt = None,
    max_nodes: MaxNodesOpt = DEFAULT_LIMITS.max_nodes,
    max_depth: MaxDepthOpt = DEFAULT_LIMITS.max_depth,
) -> None:
    """Budgets for CI: exit 0 when every given limit holds, 3 when one fails."""
    with _reporting(output, debug):
        from netinspect.cli.options import parse_count, parse_shape, parse_size

        params_limit = parse_count(max_params) if max_params else None
        bytes_limit = parse_size(max_bytes, "--max-bytes") if max_bytes else None
        flops_limit = parse_count(max_flops, "--max-flops") if max_flops else None
        shape = parse_shape(expect_output, "--expect-output") if expect_output else None
        if params_limit is None and bytes_limit is None and flops_limit is None and shape is None:
            raise OptionError(
                "nothing to check",
                hint="Give --max-params, --max-bytes, --max-flops or --expect-output.",
            )
        compiled = _compile(
            spec,
            _limits(max_nodes, max_depth, max_modules, max_tensors, max_spec_size),
            allow_import=allow_import,
            import_path=import_path,
        )
        from netinspect.analysis.tensors import is_lazy

        # A lazy model has no parameter count until a pass shapes it: never pass it on 0.
        lazy = any(is_lazy(p) for p in compiled.module.parameters())
        run = None
        if max_flops or expect_output or input_shape or lazy:
            run = _run(compiled, input_shape, input_dtype)
        from netinspect.analysis.check import check as check_of
        from netinspect.analysis.params import params as params_of
        from netinspect.render.json import check_json
        from netinspect.render.text import check_table

        totals = params_of(compiled.module, compiled.name)
        report = check_of(
            compiled.name,
            params=totals.total,
            n_bytes=totals.bytes,
            flops=run.flops if run else None,
            output=run.output if run else None,
            max_params=params_limit,
            max_bytes=bytes_limit,
            max_flops=flops_limit,
            expect_output=shape,
        )
        _emit(report, output, check_table, check_json)
        if not report.ok:
            raise typer.Exit(ExitCode.CHECK_FAILED)


@app.command()
def diff(
    before: Annotated[str, typer.Argument(help="The spec before: a path, or - for stdin.")],
    after: Annotated[str, typer.Argument(help="The spec after.")],
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 3 when they differ, like git diff.")
    ] = False,
    input_shape: InputOpt = None,
    input_dtype: InputDtypeOpt = None,
    allow_import: AllowImportOpt = False,
    import_path: ImportPathOpt = None,
    output: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
    max_modules: MaxModulesOpt = DEFAULT_LIMITS.max_modules,
    max_tensors: MaxTensorsOpt = DEFAULT_LIMITS.max_tensors,
    max_spec_size: MaxSpecSizeOpt = None,
    max_nodes: MaxNodesOpt = DEFAULT_LIMITS.max_nodes,
    max_depth: MaxDepthOpt = DEFAULT_LIMITS.max_depth,
) -> None:
    """Parameters added, removed and changed in shape between two specs; totals before/after."""
    with _reporting(output, debug):
        limits = _limits(max_nodes, max_depth, max_modules, max_tensors, max_spec_size)
        old = _inspected(before, limits, input_shape, input_dtype, allow_import, import_path)
        new = _inspected(after, limits, input_shape, input_dtype, allow_import, import_path)
        from netinspect.analysis.diff import diff as diff_of
        from netinspect.analysis.params import params as params_of
        from netinspect.render.json import diff_json
        from netinspect.render.text import diff_table

        report = diff_of(params_of(old.module, old.name), params_of(new.module, new.name))
        _emit(report, output, diff_table, diff_json)
        if exit_code and not report.identical:
            raise typer.Exit(ExitCode.CHECK_FAILED)


@app.command()
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of the spec language, for editors."""
    from netinspect.spec.schema import spec_schema

    with _reporting(OutputFormat.text, debug=False):
        _write_stdout(json.dumps(spec_schema(), indent=2) + "\n")


@app.command()
def init(
    spec: SpecArg = DEFAULT_SPEC,
    scheme: Annotated[
        str | None,
        typer.Option(
            "--scheme",
            "-s",
            help="Weight scheme NAME[:k=v,...], e.g. normal:std=0.01. "
            f"Names: {', '.join(SCHEME_NAMES)}.",
        ),
    ] = None,
    bias: Annotated[
        str, typer.Option("--bias", help="Scheme for biases where --scheme applies.")
    ] = "zeros",
    select: Annotated[
        str | None, typer.Option("--select", help="Only modules whose path matches this glob.")
    ] = None,
    layer_type: Annotated[
        str | None, typer.Option("--type", help="Only modules of this class, e.g. Linear.")
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", min=0, max=2**64 - 1, help="Seed for bit-identical weights (0 to 2^64-1)."
        ),
    ] = None,
    out: Annotated[
        str | None, typer.Option("--out", "-o", help="Write the weights here (safetensors).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out file.")] = False,
    allow_import: Annotated[
        bool,
        typer.Option(
            "--allow-import",
            help="Allow --scheme/--bias to be your own pkg.module:function (never the spec's "
            "init: rules).",
        ),
    ] = False,
    import_path: ImportPathOpt = None,
    input_shape: InputOpt = None,
    input_dtype: InputDtypeOpt = None,
    output: FormatOpt = OutputFormat.text,
    debug: DebugOpt = False,
    max_modules: MaxModulesOpt = DEFAULT_LIMITS.max_modules,
    max_tensors: MaxTensorsOpt = DEFAULT_LIMITS.max_tensors,
    max_spec_size: MaxSpecSizeOpt = None,
    max_nodes: MaxNodesOpt = DEFAULT_LIMITS.max_nodes,
    max_depth: MaxDepthOpt = DEFAULT_LIMITS.max_depth,
    max_memory: MaxMemoryOpt = None,
) -> None:
    """Initialize the weights with named schemes and report what each parameter now holds.

    The spec's init: rules apply first, in order; --scheme (with --bias, --select, --type)
    applies last and wins. Parameters no rule reaches keep their layer's default init.
    """
    with _reporting(output, debug):
        import netinspect

        limits = _limits(max_nodes, max_depth, max_modules, max_tensors, max_spec_size, max_memory)
        loaded = netinspect.load(spec, limits)
        _skip_dynamo_import()  # torch: only once the spec itself is sound
        from netinspect.analysis.init import Rule, parse_scheme, resolve_scheme
        from netinspect.files import check_writable, save_weights
        from netinspect.render.json import init_json
        from netinspect.render.text import init_table
        from netinspect.run import init_model, spec_rules

        if out is not None:
            check_writable(out, force)  # before the real work, not after it
        rules = spec_rules(loaded)  # built-in schemes only, whatever --allow-import says
        if scheme is not None:
            search = import_path or ()
            weight = resolve_scheme(parse_scheme(scheme), allow_import, search)
            bias_scheme = resolve_scheme(parse_scheme(bias, "--bias"), allow_import, search)
            rules.append(Rule(weight, bias_scheme, layer_type, select))
        with _progress("initializing") as progress:
            compiled, report = init_model(
                loaded,
                rules,
                scheme_label=scheme or "init rules",
                seed=seed,
                shape=input_shape,
                input_dtype=input_dtype.value if input_dtype else None,
                limits=limits,
                progress=progress,
            )
        if out is not None:
            metadata = {"seed": str(report.seed), "scheme": report.scheme}
            save_weights(compiled.module, out, metadata, force)
        _emit(
            report,
            output,
            lambda r: init_table(r, out),
            lambda r: init_json(r, out),
        )


@contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int], None] | None]:
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


def main() -> None:
    """Console-script entry point: run the command, report what went wrong, exit."""
    # A run allocates hundreds of thousands of long-lived objects (torch's import, a module
    # per layer) and next to no cyclic garbage, so the cycle collector would only re-scan
    # them, again and again: a third of a 12,000-layer dry-run. Refcounting still frees
    # every tensor, and the process is short-lived.
    gc.disable()
    from netinspect.entry import interrupted

    try:
        status = _invoke(sys.argv[1:])
    except KeyboardInterrupt:  # between commands' own handling: parsing, rendering help
        status = _interrupted()
    if interrupted() and status == 0:  # swallowed, and nothing was written: say so
        status = _interrupted()
    # Tearing the interpreter down frees every object one at a time (0.6 s after a
    # 12,000-layer dry run) and runs a last full collection; nothing is left to do but
    # flush what was printed. Files are written whole before this (files.atomic_write).
    # A Ctrl-C now would only print a traceback: the work is done, so it waits for exit.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # the reader went away, or the stream was shut
            status = status or 1
    os._exit(status)


def _invoke(args: list[str]) -> int:
    """Run the app without Click's own exit handling, so a usage error (exit 2) can be a
    JSON document too, when the command line asked for JSON."""
    try:
        result = app(args=args, prog_name="netinspect", standalone_mode=False)
    except typer.Abort:
        _print_stderr("aborted")
        return 1
    except Exception as exc:
        if not _is_usage_error(exc):
            _print_stderr(f"internal error: {type(exc).__name__}: {exc}")
            return ExitCode.INTERNAL
        _usage_error(exc, args)
        return int(exc.exit_code)  # type: ignore[attr-defined]  # checked by _is_usage_error
    status = result if isinstance(result, int) else 0
    if status == ExitCode.INTERRUPTED:  # Click turns a Ctrl-C while parsing into 130
        _interrupted()
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
        _write_json_error(NetinspectError(exc.format_message(), where))


def _wants_json(args: list[str]) -> bool:
    pairs = zip(args, [*args[1:], ""], strict=True)
    return any(
        (a in ("--format", "-f") and b == "json") or a in ("--format=json", "-fjson")
        for a, b in pairs
    )
