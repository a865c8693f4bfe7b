"""The command line's options, and the typed values the API takes parsed from them.

Two parts. The parsers turn what a user types into values: shapes, sizes, counts (exact,
no float on the way, ASCII digits only, within 64 bits) and init schemes, each error naming
its option. The option groups declare the options several commands share once (the limits,
the example input, importing, the output format) as plain functions whose parameters are
Typer options and whose result is one typed value; ``cli.app.command`` splices a group's
options into each command that asks for it. No torch: ``--help`` and usage errors stay
instant.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import TYPE_CHECKING, Annotated, TypedDict

import typer

if TYPE_CHECKING:
    import torch

from netinspect.dtypes import InputDtype, ParamDtype
from netinspect.errors import InitError, Location, NetinspectError, OptionError
from netinspect.limits import DEFAULT_LIMITS, Limits
from netinspect.spec.model import (
    INPUT_DTYPES,
    PYTHON_REFERENCE,
    InputSpec,
    SchemeSpec,
    Value,
    check_shape,
    did_you_mean,
)
from netinspect.spec.quantities import COUNT_HINT, SIZE_HINT, count_of, size_of, sizes_of
from netinspect.spec.schemes import SCHEME_NAMES


def parse_input(text: str) -> InputSpec:
    """One ``--input``: ``[NAME=]SHAPE[:DTYPE]``; with a name it is that keyword argument of
    forward(), without one the next positional argument."""
    name, equals, rest = text.partition("=")
    if not equals:
        name, rest = "", text
    elif not name.strip().isidentifier():
        raise OptionError(
            f"{_shown(name)} is not an argument name",
            Location("--input"),
            "Name a keyword input as forward() does: --input attention_mask=2x16:int64.",
        )
    shape_text, colon, dtype_text = rest.partition(":")
    dtype = None
    if colon:
        dtype = dtype_text.strip()
        if dtype not in INPUT_DTYPES:
            raise OptionError(
                f"{_shown(dtype_text)} is not an input dtype; expected one of: "
                + ", ".join(INPUT_DTYPES),
                Location("--input"),
                did_you_mean(dtype, INPUT_DTYPES),
            )
    shape = parse_shape(shape_text)
    where = Location("--input")
    return InputSpec(shape, dtype or "float32", where, dtype is not None, name.strip() or None)


def parse_shape(text: str, option: str = "--input") -> tuple[int, ...]:
    """``2x4``, ``2,4``, ``2 4`` or ``[2, 4]`` to ``(2, 4)``; every size a whole number ≥ 1
    written in ASCII digits, the shape at most 2^60 elements."""
    sizes = sizes_of(text)
    if sizes is None:
        raise OptionError(
            f"{_shown(text)} is not a shape",
            Location(option),
            "Write the sizes batch first, each ≥ 1: 2x4, 2,4 or [2,4].",
        )
    return check_shape(sizes, "the shape", Location(option))


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:20]!r}… ({len(text)} characters)"


def parse_size(text: str, option: str = "--max-memory") -> int:
    """``8GB``, ``512MiB``, ``1.5 TB`` or a plain byte count to bytes (decimal and binary units)."""
    size = size_of(text)
    if size is None:
        raise OptionError(f"{_shown(text)} is not a size", Location(option), SIZE_HINT)
    return size


def parse_count(text: str, option: str = "--max-params") -> int:
    """``7B``, ``1.5T``, ``300M``, ``10k``, ``1,000``, ``3e9`` or a plain number to a count."""
    count = count_of(text)
    if count is None:
        raise OptionError(f"{_shown(text)} is not a count", Location(option), COUNT_HINT)
    return count


def parse_scheme(text: str, option: str = "--scheme") -> SchemeSpec:
    """``normal:std=0.01,mean=0`` or ``constant:42`` to a :class:`SchemeSpec`.

    Values are read as a spec's plain scalars are (``0.01``, ``1e-3``, ``fan_out``,
    ``true``). A user's function ``pkg.mod:func`` takes its arguments after a second colon:
    ``pkg.mod:func:k=v``. Errors name ``option``.
    """
    from netinspect.spec.loader import resolve_plain  # YAML: only when there is a scheme

    where = Location(option)
    name, _, rest = text.partition(":")
    func, _, func_args = rest.partition(":")
    if name not in SCHEME_NAMES and PYTHON_REFERENCE.match(f"{name}:{func}"):
        name, rest = f"{name}:{func}", func_args
    args: list[Value] = []
    kwargs: list[tuple[str, Value]] = []
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, raw = part.partition("=")
        try:
            value = resolve_plain((raw if eq else key).strip(), where)
        except NetinspectError as exc:
            raise InitError(f"{option} {text!r}: {exc.message}", where) from None
        if eq:
            kwargs.append((key.strip(), value))
        else:
            args.append(value)
    return SchemeSpec(name, tuple(args), tuple(kwargs), where)


# -- option groups -------------------------------------------------------------------------
LIMITS_PANEL = "Limits"


class TableFormat(str, Enum):
    """The table commands' formats (params, dry-run): text for people, json for scripts
    (one document on stdout), markdown and csv for reports and spreadsheets."""

    text = "text"
    json = "json"
    markdown = "markdown"
    csv = "csv"


class ReportFormat(str, Enum):
    """The other commands' formats: text for people, json for scripts."""

    text = "text"
    json = "json"


class CheckFormat(str, Enum):
    """``check``'s formats: text and json, and github for workflow commands that annotate
    a pull request."""

    text = "text"
    json = "json"
    github = "github"


class SchemaFormat(str, Enum):
    """``schema``'s one format: the schema is a JSON document (accepted so that every
    command takes ``--format json``)."""

    json = "json"


@dataclasses.dataclass(frozen=True)
class Output:
    """How a command reports: its format, whether long tables are capped on a terminal
    (``--all`` lifts it), and whether errors show their traceback (``--debug``)."""

    format: TableFormat | ReportFormat | CheckFormat = ReportFormat.text
    all_rows: bool = False
    debug: bool = False

    @property
    def json(self) -> bool:
        return self.format in (TableFormat.json, ReportFormat.json, CheckFormat.json)

    @property
    def github(self) -> bool:
        return self.format is CheckFormat.github


@dataclasses.dataclass(frozen=True)
class Example:
    """``--input`` (each time given) and ``--input-dtype``, parsed; empty or None where
    not given."""

    inputs: tuple[InputSpec, ...] = ()
    dtype: InputDtype | None = None


@dataclasses.dataclass(frozen=True)
class Imports:
    """Whether user code may be imported (``--allow-import``), and from where."""

    allow: bool = False
    path: tuple[str, ...] = ()


_DEBUG_HELP = "Show the Python traceback behind an error."
_ALL_HELP = "Every row on a terminal too (long tables show their first 30 and last 10 there)."
DebugOpt = Annotated[bool, typer.Option("--debug", help=_DEBUG_HELP)]


def report_output(
    output: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="text for people; json for scripts.")
    ] = ReportFormat.text,
    debug: DebugOpt = False,
) -> Output:
    return Output(output, False, debug)


class GraphFormat(str, Enum):
    """``graph``'s formats: Mermaid text (bare, or in a markdown block), Graphviz DOT text,
    and the images Graphviz's dot draws from it."""

    mermaid = "mermaid"
    markdown = "markdown"
    dot = "dot"
    svg = "svg"
    png = "png"


def debug_only(debug: DebugOpt = False) -> Output:
    """For the commands whose --format is their own (graph): errors as text."""
    return Output(ReportFormat.text, False, debug)


def check_output(
    output: Annotated[
        CheckFormat,
        typer.Option(
            "--format",
            "-f",
            help="text for people; json for scripts; github for annotations on a pull "
            "request (GitHub Actions workflow commands).",
        ),
    ] = CheckFormat.text,
    debug: DebugOpt = False,
) -> Output:
    return Output(output, False, debug)


def table_output(
    output: Annotated[
        TableFormat,
        typer.Option(
            "--format",
            "-f",
            help="text for people; json for scripts; markdown or csv for reports.",
        ),
    ] = TableFormat.text,
    all_rows: Annotated[bool, typer.Option("--all", help=_ALL_HELP)] = False,
    debug: DebugOpt = False,
) -> Output:
    return Output(output, all_rows, debug)


def example_input(
    input_shapes: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            "-i",
            metavar="SHAPE",
            help="An example input, batch first: 2x4, 2,4 or [2,4]; 2x4:int64 gives its "
            "dtype, and NAME=SHAPE passes it by keyword (mask=2x16:int64). Repeat "
            "for each input. Overrides the spec's input:.",
        ),
    ] = None,
    input_dtype: Annotated[
        InputDtype | None,
        typer.Option(
            "--input-dtype",
            metavar="DTYPE",  # the choices go in the help, which wraps between words
            help="Dtype of every input without its own :DTYPE: "
            + ", ".join(d.value for d in InputDtype)
            + "; int64 for index inputs (Embedding).",
        ),
    ] = None,
) -> Example:
    return Example(tuple(parse_input(text) for text in input_shapes or ()), input_dtype)


ImportPathOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--import-path",
        help="Where to find your modules, after the installed packages (repeatable).",
        show_default="the current directory",
        metavar="DIR",
    ),
]


def imports(
    allow_import: Annotated[
        bool,
        typer.Option(
            "--allow-import",
            help="Allow SPEC to be Python code, package.module:callable "
            "(e.g. torch.nn:Transformer).",
        ),
    ] = False,
    import_path: ImportPathOpt = None,
) -> Imports:
    return Imports(allow_import, tuple(import_path or ()))


MaxModulesOpt = Annotated[
    int,
    typer.Option(
        "--max-modules",
        min=1,
        envvar="NETINSPECT_MAX_MODULES",
        rich_help_panel=LIMITS_PANEL,
        help="Refuse specs that expand to more modules than this (guards repeat bombs).",
    ),
]
MaxTensorsOpt = Annotated[
    int,
    typer.Option(
        "--max-tensors",
        min=1,
        envvar="NETINSPECT_MAX_TENSORS",
        rich_help_panel=LIMITS_PANEL,
        help="Refuse specs whose layers build more parameters and buffers than this.",
    ),
]
MaxSpecSizeOpt = Annotated[
    str | None,
    typer.Option(
        "--max-spec-size",
        envvar="NETINSPECT_MAX_SPEC_SIZE",
        rich_help_panel=LIMITS_PANEL,
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
        rich_help_panel=LIMITS_PANEL,
        help="Refuse specs with more YAML nodes than this after aliases (guards alias bombs).",
    ),
]
MaxDepthOpt = Annotated[
    int,
    typer.Option(
        "--max-depth",
        min=1,
        envvar="NETINSPECT_MAX_DEPTH",
        rich_help_panel=LIMITS_PANEL,
        help="Refuse specs that nest deeper than this.",
    ),
]
MaxMemoryOpt = Annotated[
    str | None,
    typer.Option(
        "--max-memory",
        envvar="NETINSPECT_MAX_MEMORY",
        rich_help_panel=LIMITS_PANEL,
        help="Memory a real (cpu) run may take, e.g. 8GB.",
        show_default="what is free",
    ),
]


def limits(
    max_modules: MaxModulesOpt = DEFAULT_LIMITS.max_modules,
    max_tensors: MaxTensorsOpt = DEFAULT_LIMITS.max_tensors,
    max_spec_size: MaxSpecSizeOpt = None,
    max_nodes: MaxNodesOpt = DEFAULT_LIMITS.max_nodes,
    max_depth: MaxDepthOpt = DEFAULT_LIMITS.max_depth,
) -> Limits:
    """The limits on what a spec may read and expand to."""
    spec_bytes = (
        parse_size(max_spec_size, "--max-spec-size")
        if max_spec_size is not None
        else DEFAULT_LIMITS.max_spec_bytes
    )
    return Limits(spec_bytes, max_nodes, max_depth, max_modules, max_tensors)


def run_limits(
    max_modules: MaxModulesOpt = DEFAULT_LIMITS.max_modules,
    max_tensors: MaxTensorsOpt = DEFAULT_LIMITS.max_tensors,
    max_spec_size: MaxSpecSizeOpt = None,
    max_nodes: MaxNodesOpt = DEFAULT_LIMITS.max_nodes,
    max_depth: MaxDepthOpt = DEFAULT_LIMITS.max_depth,
    max_memory: MaxMemoryOpt = None,
) -> Limits:
    """:func:`limits`, and the memory a real run may take, for the commands that allocate."""
    memory = parse_size(max_memory) if max_memory is not None else None
    base = limits(max_modules, max_tensors, max_spec_size, max_nodes, max_depth)
    return dataclasses.replace(base, max_memory=memory)


class Optimizer(str, Enum):
    """The optimizer of a planned training step (each with foreach=True, CUDA's default)."""

    sgd = "sgd"
    sgd_momentum = "sgd-momentum"
    adam = "adam"
    adamw = "adamw"


class Target(str, Enum):
    """The device a training step's memory is planned for."""

    cuda = "cuda"
    cpu = "cpu"


class Amp(str, Enum):
    bfloat16 = "bfloat16"
    float16 = "float16"


@dataclasses.dataclass(frozen=True)
class Training:
    """How a planned training step runs: --dtype, --amp, --optimizer, --target."""

    dtype: ParamDtype | None = None
    amp: Amp | None = None
    optimizer: Optimizer = Optimizer.adamw
    target: Target = Target.cuda

    def settings(self) -> TrainingSettings:
        """The keyword arguments of api.plan_training (and api.check) these stand for."""
        from netinspect.dtypes import torch_dtype

        return {
            "dtype": torch_dtype(self.dtype.value) if self.dtype else None,
            "amp": torch_dtype(self.amp.value) if self.amp else None,
            "optimizer": self.optimizer.value,
            "target": self.target.value,
        }


class TrainingSettings(TypedDict):
    dtype: torch.dtype | None
    amp: torch.dtype | None
    optimizer: str
    target: str


def training(
    dtype: Annotated[
        ParamDtype | None,
        typer.Option(
            "--dtype",
            metavar="DTYPE",
            help="Parameters and data in this dtype (bfloat16: a bf16 model): "
            + ", ".join(d.value for d in ParamDtype)
            + ".",
        ),
    ] = None,
    amp: Annotated[
        Amp | None, typer.Option("--amp", help="Run the forward under autocast to this dtype.")
    ] = None,
    optimizer: Annotated[
        Optimizer, typer.Option("--optimizer", help="The training step's optimizer.")
    ] = Optimizer.adamw,
    target: Annotated[
        Target, typer.Option("--target", help="The device a training step is planned for.")
    ] = Target.cuda,
) -> Training:
    return Training(dtype, amp, optimizer, target)
