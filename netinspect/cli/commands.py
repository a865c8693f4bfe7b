"""The subcommands: each parses what only it takes, calls the API once or twice, renders.

The options several commands share (limits, the example input, importing, the format) come
from the groups in ``cli.options``, spliced in by ``cli.app.command``; a failure anywhere is
reported by ``cli.output.reporting``. torch is imported only inside the commands, so
``--help``, completion and usage errors stay instant.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from netinspect import api
from netinspect._fast import process
from netinspect.cli import options
from netinspect.cli.app import command
from netinspect.cli.batch import each_spec
from netinspect.cli.options import (
    Example,
    GraphFormat,
    Imports,
    Output,
    SchemaFormat,
    Training,
    parse_count,
    parse_scheme,
    parse_shape,
    parse_size,
)
from netinspect.cli.output import (
    capped,
    emit,
    print_stderr,
    progress,
    stdout_console,
    write_stdout,
)
from netinspect.dtypes import ParamDtype
from netinspect.errors import ExitCode, Location, OptionError
from netinspect.limits import Limits
from netinspect.spec.schemes import SCHEME_NAMES

if TYPE_CHECKING:
    from rich.console import RenderableType

    from netinspect.analysis.check import CheckRun
    from netinspect.analysis.dryrun import DryRunReport
    from netinspect.analysis.params import ParamsReport
    from netinspect.analysis.shared import SharedReport
    from netinspect.analysis.tree import TreeReport
    from netinspect.builder.compiler import CompiledModel
    from netinspect.spec.model import Spec

SpecArg = Annotated[
    str,
    typer.Argument(
        help="The YAML spec (a path, or - for standard input), or with --allow-import a "
        "Python package.module:callable that returns the model.",
        metavar="SPEC",
        show_default=True,
    ),
]
SpecsArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="One or more YAML specs (paths or globs such as 'configs/*.yaml', run in one "
        "process; - for standard input), or with --allow-import a Python "
        "package.module:callable that returns the model. Default: model.yaml.",
        metavar="SPEC...",
        show_default=False,
    ),
]
InitSpecArg = Annotated[  # init takes specs only: its --allow-import is for schemes
    str,
    typer.Argument(
        help="The YAML spec: a path, or - for standard input.", metavar="SPEC", show_default=True
    ),
]
DEFAULT_SPEC = "model.yaml"

# What each kind of command asks of cli.app.command: its option groups.
INSPECTS: dict[str, Callable[..., Any]] = {
    "example": options.example_input,
    "imports": options.imports,
    "output": options.report_output,
    "limits": options.limits,
}
TABLES = {**INSPECTS, "output": options.table_output}


class CheckpointFormat(str, Enum):
    """What ``init`` writes across ranks (torchrun)."""

    dcp = "dcp"
    safetensors = "safetensors"


class Device(str, Enum):
    """Where a dry run happens: meta computes shapes only; cpu runs on real random data."""

    meta = "meta"
    cpu = "cpu"


# -- from options to the API's values ------------------------------------------------------
def _source(spec: str, imports: Imports, limits: Limits) -> api.Source:
    """A spec, or with --allow-import a Python target: what SPEC names."""
    source = api.open_source(
        spec, limits=limits, allow_import=imports.allow, import_path=imports.path
    )
    _loaded()
    return source


def _spec(path: str, limits: Limits) -> Spec:
    """A spec, for init (whose --allow-import is about schemes, not the model)."""
    spec = api.load(path, limits)
    _loaded()
    return spec


def _loaded() -> None:
    """What follows loading: torch, and a command that never compiles need not import
    torch._dynamo (see ``_fast.dynamo``). Only once the spec itself is sound."""
    from netinspect._fast.dynamo import skip_dynamo_import

    skip_dynamo_import()


def _chosen(source: api.Source, example: Example) -> api.Inputs:
    from netinspect.dtypes import torch_dtype

    dtype = torch_dtype(example.dtype.value) if example.dtype else None
    return api.choose_input(source, example.inputs or None, dtype)


def _given(source: api.Source, example: Example) -> api.Inputs:
    """The example inputs when the command line gave one, for commands that need none."""
    given = bool(example.inputs) or example.dtype is not None
    return _chosen(source, example) if given else ()


def _inspected(spec: str, example: Example, imports: Imports, limits: Limits) -> CompiledModel:
    source = _source(spec, imports, limits)
    model = api.inspect(source, input=_given(source, example), limits=limits)
    lazy = api.unshaped(model)
    if lazy:  # never a silent 0: the counts below leave these out
        print_stderr(
            f"note: {model.name} has {lazy} lazy parameter{'s' * (lazy != 1)} with no shape "
            "yet, counted as 0; give --input (or input: in the spec) to shape them"
        )
    return model


NoFoldOpt = Annotated[
    bool, typer.Option("--no-fold", help="Show identical consecutive siblings one by one.")
]


# -- the commands --------------------------------------------------------------------------
@command(INSPECTS)
def tree(
    specs: SpecsArg = None,
    depth: Annotated[
        int | None,
        typer.Option("--depth", "-d", min=0, help="Show this many levels below the root."),
    ] = None,
    no_fold: NoFoldOpt = False,
    *,
    example: Example,
    imports: Imports,
    output: Output,
    limits: Limits,
) -> None:
    """A tree of the model's blocks: class, arguments, parameter counts, shared and lazy marks."""
    from netinspect.render.batch import tree_summary
    from netinspect.render.json import tree_json
    from netinspect.render.text import tree_view

    def work(spec: str) -> TreeReport:
        return api.tree(_inspected(spec, example, imports, limits), depth)

    each_spec(
        specs or [DEFAULT_SPEC], work, output, text=lambda r: tree_view(r, fold=not no_fold),
        as_json=tree_json, summary=tree_summary,
    )  # fmt: skip


@command(TABLES)
def params(
    specs: SpecsArg = None,
    filter_: Annotated[
        str | None,
        typer.Option("--filter", help="Only names matching this glob, e.g. '0.block 1.*'."),
    ] = None,
    buffers: Annotated[
        bool,
        typer.Option("--buffers", help="List the buffers too (BatchNorm's running statistics)."),
    ] = False,
    *,
    example: Example,
    imports: Imports,
    output: Output,
    limits: Limits,
) -> None:
    """Every named parameter with shape, dtype and count; totals count tied tensors once."""
    from netinspect.render.batch import params_summary
    from netinspect.render.json import params_json
    from netinspect.render.tables import params_rows
    from netinspect.render.text import params_table

    def work(spec: str) -> ParamsReport:
        model = _inspected(spec, example, imports, limits)
        return api.params(model, filter_, buffers=buffers)

    text = capped(output)
    each_spec(
        specs or [DEFAULT_SPEC], work, output, text=lambda r: params_table(r, text),
        as_json=params_json, summary=params_summary, table=params_rows,
    )  # fmt: skip


@command(INSPECTS)
def shared(
    specs: SpecsArg = None,
    *,
    example: Example,
    imports: Imports,
    output: Output,
    limits: Limits,
) -> None:
    """Groups of parameter names that are one tensor (tied weights) and what the ties save."""
    from netinspect.render.batch import shared_summary
    from netinspect.render.json import shared_json
    from netinspect.render.text import shared_table

    def work(spec: str) -> SharedReport:
        return api.shared(_inspected(spec, example, imports, limits))

    each_spec(
        specs or [DEFAULT_SPEC], work, output, text=shared_table, as_json=shared_json,
        summary=shared_summary,
    )  # fmt: skip


@command({**TABLES, "limits": options.run_limits})
def dry_run(
    specs: SpecsArg = None,
    *,
    example: Example,
    imports: Imports,
    device: Annotated[
        Device,
        typer.Option("--device", help="meta: shapes only, nothing allocated; cpu: real data."),
    ] = Device.meta,
    dtype: Annotated[
        ParamDtype | None,
        typer.Option(
            "--dtype",
            metavar="DTYPE",
            help="Parameter dtype, overriding the spec's: "
            + ", ".join(d.value for d in ParamDtype)
            + ".",
        ),
    ] = None,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth", "-d", min=0, help="Show calls this many levels deep (deeper ones sum up)."
        ),
    ] = None,
    no_fold: NoFoldOpt = False,
    output: Output,
    limits: Limits,
) -> None:
    """One forward pass: each call's input and output shapes, parameters and FLOPs.

    The pass gives lazy layers their shapes; on --device cpu it runs on random data.
    """
    from netinspect.dtypes import torch_dtype
    from netinspect.render.batch import dry_run_summary
    from netinspect.render.json import dry_run_json
    from netinspect.render.tables import dry_run_rows
    from netinspect.render.text import dry_run_table

    if device is not Device.meta:
        process.allocating()
    param_dtype = torch_dtype(dtype.value) if dtype else None

    def work(spec: str) -> DryRunReport:
        source = _source(spec, imports, limits)
        report = api.dry_run(
            source, _chosen(source, example), device=device.value, dtype=param_dtype,
            limits=limits,
        )  # fmt: skip
        _say_uncounted(report.uncounted)
        return report

    def shown(report: DryRunReport) -> DryRunReport:
        """The calls --depth shows (a block's row already sums its calls' params and FLOPs);
        text folds runs by all their calls, so it takes the whole report."""
        if depth is None:
            return report
        return dataclasses.replace(
            report, layers=tuple(call for call in report.layers if call.depth <= depth)
        )

    text = capped(output)
    each_spec(
        specs or [DEFAULT_SPEC], work, output,
        text=lambda r: dry_run_table(r, text, fold=not no_fold, depth=depth),
        as_json=lambda r: dry_run_json(shown(r)), table=lambda r: dry_run_rows(shown(r)),
        summary=dry_run_summary,
    )  # fmt: skip


def _say_uncounted(paths: tuple[str, ...]) -> None:
    """A FLOP total that leaves calls out says so, on stderr (JSON: ``uncounted``)."""
    if paths:
        shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
        print_stderr(
            f"warning: the FLOPs of {len(paths)} call{'s' * (len(paths) != 1)} could not be "
            f"counted and are missing from the totals: {shown} (torch ran an operator "
            "FlopCounterMode has no formula for)"
        )


@command({**INSPECTS, "output": options.check_output, "training": options.training})
def check(
    specs: SpecsArg = None,
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
    max_train_memory: Annotated[
        str | None,
        typer.Option(
            "--max-train-memory",
            metavar="SIZE",
            help="A training step's peak on the GPU is at most: 80GB (see memory).",
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            metavar="FILE",
            help="Weights (safetensors, a sharded checkpoint, torch.save): would "
            "model.load_state_dict(weights) work?",
        ),
    ] = None,
    non_strict: Annotated[
        bool,
        typer.Option("--non-strict", help="With --weights: as strict=False loads (warnings)."),
    ] = False,
    strict_dtype: Annotated[
        bool, typer.Option("--strict-dtype", help="With --weights: a dtype that differs fails.")
    ] = False,
    max_header_bytes: Annotated[
        str | None,
        typer.Option(
            "--max-header-bytes", metavar="SIZE", help="The largest weights header read: 100MiB."
        ),
    ] = None,
    junit_xml: Annotated[
        str | None,
        typer.Option(
            "--junit-xml",
            metavar="FILE",
            help="Also write a JUnit XML report here: a test case per spec and budget.",
        ),
    ] = None,
    skip_non_specs: Annotated[
        bool,
        typer.Option(
            "--skip-non-specs",
            help="Pass over YAML files that are not specs (no model:, blocks: or budget: "
            "at the top): for hooks that hand over every changed YAML file.",
        ),
    ] = False,
    *,
    training: Training,
    example: Example,
    imports: Imports,
    output: Output,
    limits: Limits,
) -> None:
    """Budgets for CI, and whether a weights file loads: exit 0 when all hold, 3 when not.

    The limits are the options given and the spec's budget: (the options win).
    """
    from netinspect.render.batch import check_summary
    from netinspect.render.json import check_json, load_json
    from netinspect.render.text import check_table, load_table

    budgets = api.Budgets(
        max_params=parse_count(max_params) if max_params else None,
        max_bytes=parse_size(max_bytes, "--max-bytes") if max_bytes else None,
        max_flops=parse_count(max_flops, "--max-flops") if max_flops else None,
        expect_output=parse_shape(expect_output, "--expect-output") if expect_output else None,
        max_train_memory=(
            parse_size(max_train_memory, "--max-train-memory") if max_train_memory else None
        ),
    ).at_options()
    cap = parse_size(max_header_bytes, "--max-header-bytes") if max_header_bytes else None
    if junit_xml is not None:
        api.check_output(junit_xml, force=True)  # before the work: a report path that works

    def work(spec: str) -> CheckRun:
        source = _source(spec, imports, limits)
        return api.run_checks(
            source, budgets, weights=weights, input=_given(source, example),
            strict=not non_strict, strict_dtype=strict_dtype, max_header_bytes=cap,
            **training.settings(), limits=limits,
        )  # fmt: skip

    def text(run: CheckRun) -> RenderableType:
        from rich.console import Group
        from rich.text import Text

        shown = [check_table(run.budgets) if run.budgets else None]
        shown.append(load_table(run.weights) if run.weights else None)
        parts = [r for r in shown if r is not None]
        return parts[0] if len(parts) == 1 else Group(parts[0], Text(""), parts[1])

    def as_json(run: CheckRun) -> dict[str, Any]:
        doc: dict[str, Any] = {"model": run.model, "checks": []}
        if run.budgets is not None:
            doc = check_json(run.budgets)
        doc["ok"] = run.ok
        if run.weights is not None:
            doc["weights"] = load_json(run.weights)
        return doc

    def record(outcomes: Sequence[api.Outcome[CheckRun]]) -> None:
        from netinspect.render.junit import junit_xml as junit_report

        assert junit_xml is not None
        api.write_report(junit_xml, junit_report(outcomes))

    from netinspect.render.github import workflow_commands

    chosen = specs or [DEFAULT_SPEC]
    if skip_non_specs:
        chosen = _only_specs(chosen, limits)
        if not chosen:
            return
    each_spec(
        chosen, work, output, text=text, as_json=as_json,
        summary=check_summary, failed=lambda run: not run.ok,
        annotate=workflow_commands if output.github else None,
        record=record if junit_xml is not None else None,
    )  # fmt: skip


def _only_specs(arguments: list[str], limits: Limits) -> list[str]:
    """The arguments that are specs; the others are named on stderr, once."""
    paths = api.expand_specs(arguments)
    specs = [path for path in paths if api.is_spec_file(path, limits)]
    others = [path for path in paths if path not in specs]
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        count = f"{len(others)} YAML file{'s' * (len(others) != 1)}"
        what = "is not a spec" if len(others) == 1 else "are not specs"
        print_stderr(f"note: skipped {count} that {what}: {shown}")
    return specs


@command(INSPECTS)
def diff(
    before: Annotated[
        str, typer.Argument(metavar="A", help="The spec before: a path, or - for stdin.")
    ],
    after: Annotated[str, typer.Argument(metavar="B", help="The spec after.")],
    exit_code: Annotated[
        bool,
        typer.Option("--exit-code", help="Exit 3 when they differ, like git diff."),
    ] = False,
    *,
    example: Example,
    imports: Imports,
    output: Output,
    limits: Limits,
) -> None:
    """Parameters added, removed and changed in shape between two specs; totals before/after."""
    from netinspect.render.json import diff_json
    from netinspect.render.text import diff_table

    if before == after == "-":
        raise OptionError(
            "standard input can be read once: give at most one of A and B as -", Location("B")
        )
    old = _inspected(before, example, imports, limits)
    new = _inspected(after, example, imports, limits)
    report = api.diff(old, new)
    emit(report, output, diff_table, diff_json)
    if exit_code and not report.identical:
        raise typer.Exit(ExitCode.CHECK_FAILED)


@command()
def schema(
    format: Annotated[  # the option is --format, like every command's
        SchemaFormat,
        typer.Option("--format", "-f", help="Output format: the schema is JSON."),
    ] = SchemaFormat.json,
) -> None:
    """Print the JSON Schema (draft 2020-12) of the spec language, for editors."""
    write_stdout(json.dumps(api.spec_schema(), indent=2) + "\n")


@command(
    {
        "example": options.example_input,
        "output": options.report_output,
        "limits": options.run_limits,
    }
)
def init(
    spec: InitSpecArg = DEFAULT_SPEC,
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
        str | None,
        typer.Option(
            "--bias",
            help="Scheme for biases where --scheme applies (zeros; with --scheme default, "
            "default).",
        ),
    ] = None,
    select: Annotated[
        str | None, typer.Option("--select", help="Only modules whose path matches this glob.")
    ] = None,
    layer_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="Only modules of this class or a subclass: Linear (=Linear: that class only).",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", min=0, max=2**64 - 1, help="Seed for bit-identical weights (0 to 2^64-1)."
        ),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the weights here: FILE.safetensors, or DIR/ for Hugging Face's "
            "sharded layout, written a tensor at a time.",
        ),
    ] = None,
    shard_size: Annotated[
        str | None,
        typer.Option(
            "--shard-size",
            metavar="SIZE",
            help="With --out DIR/: the most data in one shard (default 5GB, as Hugging Face).",
        ),
    ] = None,
    checkpoint_format: Annotated[
        CheckpointFormat | None,
        typer.Option(
            "--checkpoint-format",
            help="Across ranks (torchrun): dcp, torch.distributed.checkpoint (the default), or "
            "safetensors, Hugging Face's layout with the ranks sharing out the shards.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out.")] = False,
    allow_import: Annotated[
        bool,
        typer.Option(
            "--allow-import",
            help="Allow --scheme/--bias to be your own pkg.module:function (never the spec's "
            "init: rules).",
        ),
    ] = False,
    import_path: options.ImportPathOpt = None,
    *,
    example: Example,
    output: Output,
    limits: Limits,
) -> None:
    """Initialize the weights with named schemes and report what each parameter now holds.

    The spec's init: rules apply first, then --scheme; unreached parameters keep their default.
    """
    loaded = _spec(spec, limits)
    process.allocating()  # real weights
    sharded = out is not None and (
        out.endswith(("/", os.sep)) or os.path.isdir(out) or shard_size is not None
    )
    if out is not None and not sharded:
        api.check_output(out, force=force)  # before the real work, not after it
    rules = api.spec_rules(loaded)  # built-in schemes only, whatever --allow-import says
    if scheme is not None:
        search = tuple(import_path or ())
        weight = api.scheme(parse_scheme(scheme), allow_import=allow_import, import_path=search)
        if bias is None:  # the layer's own init means all of it, biases included
            bias = "default" if weight.name == "default" else "zeros"
        bias_scheme = api.scheme(
            parse_scheme(bias, "--bias"), allow_import=allow_import, import_path=search
        )
        rules.append(api.rule(weight, bias_scheme, layer_type=layer_type, select=select))
    label = scheme or "init rules"
    size = parse_size(shard_size, "--shard-size") if shard_size else api.DEFAULT_SHARD_SIZE
    if api.world_size() > 1:  # started by torchrun: each rank makes its part
        if out is None:
            raise OptionError(
                "init across ranks writes a checkpoint: give --out DIR/", Location("--out")
            )
        if checkpoint_format is CheckpointFormat.safetensors:
            _init_sharded(loaded, rules, out, size, seed, label, force, output, limits, ranks=True)
        else:
            _init_ranks(loaded, rules, out, seed, label, force, output, limits)
        return
    if checkpoint_format is CheckpointFormat.dcp:
        raise OptionError(
            "torch.distributed.checkpoint is written across ranks: start the command with "
            "torchrun (torchrun --nproc-per-node 2 -m netinspect init ...)",
            Location("--checkpoint-format"),
            "In one process, --out DIR/ writes Hugging Face's layout a tensor at a time.",
        )
    if sharded:
        assert out is not None
        _init_sharded(loaded, rules, out, size, seed, label, force, output, limits)
        return
    # Only a model with lazy layers needs an input; init uses the spec's when none is given.
    chosen = _given(loaded, example) if example.inputs or loaded.inputs else ()
    with progress("initializing") as update:
        model, report = api.initialize(
            loaded,
            rules,
            seed=seed,
            input=chosen,
            limits=limits,
            scheme_label=scheme or "init rules",
            progress=update,
        )
    if out is not None:
        api.save_weights(model, out, report, force=force)
    from netinspect.render.json import init_json
    from netinspect.render.text import init_table

    emit(report, output, lambda r: init_table(r, out), lambda r: init_json(r, out))


def _init_sharded(
    loaded: Spec,
    rules: list[Any],
    folder: str,
    shard_size: int,
    seed: int | None,
    label: str,
    force: bool,
    output: Output,
    limits: Limits,
    *,
    ranks: bool = False,
) -> None:
    """``init --out DIR/``: the plan on stderr first, then the checkpoint, then the report
    (across ranks, rank 0 says them)."""
    from netinspect.render.json import checkpoint_plan_json, init_json
    from netinspect.render.text import checkpoint_plan, init_table

    planned, plan = api.plan_checkpoint(
        loaded, rules, folder, shard_size=shard_size, force=force, limits=limits,
        remove_index=not ranks,
    )  # fmt: skip
    if ranks:
        report = api.write_checkpoint_across_ranks(
            planned, plan, folder, seed=seed, scheme_label=label,
            progress_note=lambda p: print_stderr(checkpoint_plan(p, folder)),
        )  # fmt: skip
        if report is None:  # not rank 0
            return
    else:
        print_stderr(checkpoint_plan(plan, folder))
        with progress("initializing") as update:
            report = api.write_checkpoint(
                planned, plan, folder, seed=seed, scheme_label=label, progress=update
            )
    emit(
        report, output, lambda r: init_table(r, folder, len(plan.shards)),
        lambda r: {**init_json(r, folder), "plan": checkpoint_plan_json(plan)},
    )  # fmt: skip


def _init_ranks(
    loaded: Spec,
    rules: list[Any],
    folder: str,
    seed: int | None,
    label: str,
    force: bool,
    output: Output,
    limits: Limits,
) -> None:
    """``torchrun -m netinspect init``: every rank works; rank 0 alone reports."""
    from netinspect.render.json import ranks_json
    from netinspect.render.text import ranks_plan, ranks_text

    report = api.init_across_ranks(
        loaded, rules, folder, seed=seed, scheme_label=label, force=force, limits=limits,
        progress_note=lambda plan, need: print_stderr(ranks_plan(plan, need, folder)),
    )  # fmt: skip
    if api.rank() == 0:
        emit(report, output, lambda r: ranks_text(r, folder), lambda r: ranks_json(r, folder))


@command({**INSPECTS, "training": options.training})
def memory(
    spec: SpecArg = DEFAULT_SPEC,
    inference: Annotated[
        bool, typer.Option("--inference", help="Plan a no-grad forward only.")
    ] = False,
    device_memory: Annotated[
        str | None,
        typer.Option(
            "--device-memory",
            metavar="SIZE",
            help="The GPU's memory (80GB, 24GiB): say the largest batch that fits in it.",
        ),
    ] = None,
    *,
    training: Training,
    example: Example,
    imports: Imports,
    output: Output,
    limits: Limits,
) -> None:
    """Peak memory of a training step (forward, backward, optimizer) on a GPU, planned on meta.

    The real step runs on the meta device, where it allocates nothing; the loss is
    out.float().mean().
    """
    from netinspect.render.json import memory_json
    from netinspect.render.text import memory_table

    source = _source(spec, imports, limits)
    report = api.plan_training(
        source,
        _chosen(source, example),
        **training.settings(),
        inference_only=inference,
        device_memory=parse_size(device_memory, "--device-memory") if device_memory else None,
        limits=limits,
    )
    emit(report, output, memory_table, memory_json)


OutputFileOpt = Annotated[
    str | None,
    typer.Option(
        "--output", "-o", metavar="FILE",
        help="Write to FILE (replaced, whole or not at all) instead of standard output.",
    ),
]  # fmt: skip


@command({**INSPECTS, "output": options.debug_only})
def graph(
    spec: SpecArg = DEFAULT_SPEC,
    format: Annotated[  # the option is --format, like every command's
        GraphFormat,
        typer.Option(
            "--format",
            "-f",
            help="mermaid (GitHub draws it), markdown (the same in a ```mermaid block), dot "
            "(Graphviz), or svg and png (drawn by Graphviz's dot, which must be installed).",
        ),
    ] = GraphFormat.mermaid,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth", "-d", min=0, help="Fold blocks this many levels down into one node each."
        ),
    ] = None,
    out: OutputFileOpt = None,
    *,
    example: Example,
    imports: Imports,
    output: Output,
    limits: Limits,
) -> None:
    """The model as a diagram: blocks as boxes, layers as nodes in call order, shapes when an
    input is known (--input or the spec's input:), shared modules drawn once, ties dashed."""
    from netinspect.render import graph as draw

    if format is GraphFormat.png and out is None and stdout_console().is_terminal:
        raise OptionError(
            "--format png writes binary data, not for a terminal",
            Location("--format"),
            "Give -o FILE.png, or redirect standard output to a file.",
        )
    if out is not None:
        api.check_output(out, force=True)
    source = _source(spec, imports, limits)
    model = api.build(source, limits=limits)
    shape = api.example_run(model, _given(source, example))
    picture = api.graph(model, shape, depth=depth)
    if format in (GraphFormat.mermaid, GraphFormat.markdown):
        text = draw.mermaid(picture)
        too_big = draw.mermaid_over_github(text, len(picture.edges))
        if too_big:
            print_stderr(
                f"note: this flowchart has {too_big}; GitHub would show an error instead. "
                "Fold it with --depth N, or draw it with Graphviz (--format svg)."
            )
        if format is GraphFormat.markdown:
            text = draw.mermaid_markdown(text)
    else:
        text = draw.dot(picture)
    data: str | bytes = text
    if format in (GraphFormat.svg, GraphFormat.png):
        data = draw.dot_image(text, format.value)
    if out is not None:
        api.write_report(out, data)
    else:
        write_stdout(data)


@command({**INSPECTS, "output": options.debug_only})
def report(
    spec: SpecArg = DEFAULT_SPEC,
    out: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="The HTML file to write (replaced, whole or not at all).",
        ),
    ] = "model.html",
    no_memory: Annotated[
        bool,
        typer.Option(
            "--no-memory",
            help="Leave out the memory of a training step (planned on meta: a minute and "
            "more for a model of ten thousand layers).",
        ),
    ] = False,
    *,
    example: Example,
    imports: Imports,
    output: Output,
    limits: Limits,
) -> None:
    """One self-contained HTML page of the model, to open offline: totals, a treemap of the
    parameters, and the block tree with shapes, FLOPs and a search box."""
    from netinspect.render.html import report_html

    api.check_output(out, force=True)
    source = _source(spec, imports, limits)
    made = api.report(source, _given(source, example), memory=not no_memory, limits=limits)
    api.write_report(out, report_html(made, spec))
    print_stderr(f"wrote {out}: {len(made.rows):,} modules of {made.model}")
