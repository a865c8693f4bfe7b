"""What people read: sheets and trees that rich draws on a terminal (colours only there),
and that render.sheet writes as plain text, fast, for a pipe or a file."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, TypeVar

from rich.console import Group, RenderableType
from rich.text import Text

from netinspect.render import units
from netinspect.render.batch import checks_verdict
from netinspect.render.folding import TIMES, CallRow, call_rows, name_range, runs, tree_signatures
from netinspect.render.sheet import Branch, Column, Sheet, TreeSheet
from netinspect.render.units import printable

if TYPE_CHECKING:  # reports are plain data: rendering them needs no torch
    from netinspect.analysis.check import CheckReport
    from netinspect.analysis.diff import DiffReport
    from netinspect.analysis.distributed import RankReport
    from netinspect.analysis.dryrun import DryRunReport
    from netinspect.analysis.init import InitReport
    from netinspect.analysis.loadcheck import Entry as LoadEntry
    from netinspect.analysis.loadcheck import LoadReport
    from netinspect.analysis.params import ParamRow, ParamsReport
    from netinspect.analysis.shared import SharedReport
    from netinspect.analysis.streaming import StreamPlan
    from netinspect.analysis.training import MemoryReport
    from netinspect.analysis.tree import TreeNode, TreeReport

T = TypeVar("T")


#: Rows a long table shows on a terminal: the first ROW_HEAD and the last ROW_TAIL, with a
#: count of the rest between (``--all`` shows every row). A 12,000-layer dry run otherwise
#: takes rich 5 s to lay out and scrolls its totals out of sight.
ROW_HEAD, ROW_TAIL = 30, 10


def _sheet(title: str, *columns: Column) -> Sheet:
    """The one table style: a titled header rule, no outer border (pastes cleanly)."""
    return Sheet(printable(title), columns)


def _rows_shown(rows: Sequence[T], capped: bool) -> tuple[Sequence[T], int, Sequence[T]]:
    """The first rows, how many are left out, the last rows: all of them unless ``capped``
    and there are more than ROW_HEAD + ROW_TAIL + 1 (an elision hiding one row would not
    save a line)."""
    if not capped or len(rows) <= ROW_HEAD + ROW_TAIL + 1:
        return rows, 0, ()
    return rows[:ROW_HEAD], len(rows) - ROW_HEAD - ROW_TAIL, rows[-ROW_TAIL:]


def _add_rows(
    sheet: Sheet, rows: Sequence[T], cells: Callable[[T], Sequence[str]], capped: bool
) -> None:
    head, hidden, tail = _rows_shown(rows, capped)
    sheet.rows.extend(cells(row) for row in head)
    if hidden:  # a line of its own between the rows, not a row that widens a column
        sheet.gap = (len(sheet.rows), Text(f"… {hidden:,} more rows (--all shows them)", "dim"))
    sheet.rows.extend(cells(row) for row in tail)


def params_table(report: ParamsReport, capped: bool = False) -> RenderableType:
    """Every parameter (the first and last few when ``capped``), then the totals of all."""
    sheet = _sheet(
        report.model,
        Column("Name", style="bold", fold=True),
        Column("Shape"),
        Column("Dtype", drop=1),
        Column("Params", right=True),
        Column("%", right=True, drop=3),
        Column("Trainable", drop=2),
        Column("Shared with", fold=True),
    )
    _add_rows(sheet, report.rows, _param_cells, capped)
    sheet.after = _params_footer(report)
    return sheet


def _param_cells(row: ParamRow) -> Sequence[str]:
    return (
        printable(row.name),
        units.shape(row.shape),
        row.dtype,
        "-" if row.numel is None else units.count(row.numel),
        units.percent(row.share),
        "buffer" if row.buffer else "yes" if row.trainable else "no",
        printable(", ".join(row.shared_with)),
    )


def _params_footer(report: ParamsReport) -> Text:
    lines = [
        f"Total params: {units.count(report.total)}",
        f"Trainable params: {units.count(report.trainable)}",
        f"Non-trainable params: {units.count(report.non_trainable)}",
        f"Params size: {units.size(report.bytes)}",
    ]
    if report.buffers:
        lines.append(
            f"Buffers: {units.count(report.buffers)} ({units.size(report.buffer_bytes)}); "
            f"params and buffers: {units.size(report.bytes + report.buffer_bytes)}"
        )
    if report.uninitialized:
        lines.append(
            f"Uninitialized (lazy) params: {report.uninitialized}, shaped by the first forward pass"
        )
    return Text("\n".join(lines))


def tree_view(report: TreeReport, fold: bool = True) -> RenderableType:
    """The tree; with ``fold``, a run of identical consecutive siblings (same class,
    arguments, parameters and subtree) shows once, as "(block 0-79): 80 x Sequential" (with
    an en dash and a multiplication sign), its subtree that of one of them."""
    total = report.root.params
    same = tree_signatures(report.root) if fold else None
    root = Branch(_label(report.root, total, is_root=True))
    stack = [(root, report.root)]
    while stack:  # no recursion: the tree may be as deep as the depth limit allows
        branch, node = stack.pop()
        signatures = [same[id(c)] for c in node.children] if same is not None else None
        for run in runs(node.children, signatures):
            branch.children.append(Branch(_label(run[0], total, run=run)))
            stack.append((branch.children[-1], run[0]))
        if node.hidden_children:
            more = f"… {node.hidden_children} more (raise --depth to see them)"
            branch.children.append(Branch(Text(more, "dim")))
    after = None
    if report.repeated:  # the rows count a tied or shared tensor at each place
        after = Text(
            f"Tied and shared tensors count at every place above ({units.count(report.repeated)}"
            f" params more than once);\nthe root's {units.count(report.root.params)} counts "
            "each tensor once."
        )
    return TreeSheet(root, after)


def _label(node: TreeNode, total: int, is_root: bool = False, run: Sequence[TreeNode] = ()) -> Text:
    label = Text()
    name, kind, args = printable(node.name), printable(node.type), printable(node.args)
    times = len(run) if len(run) > 1 else 1
    if is_root:
        label.append(name, "bold")
        label.append(f" ({kind})")
    else:
        if times > 1:
            name = name_range(name, printable(run[-1].name))
        label.append(f"({name}): ", "bold")
        if times > 1:
            label.append(f"{times} {TIMES} ")
        is_leaf = not node.children and not node.hidden_children
        # print(model) style: arguments in parentheses; a bare container shows its class only.
        label.append(f"{kind}({args})" if args or is_leaf else kind)
    if node.params and times > 1:
        label.append(
            f" · {units.count(node.params)} params each, {units.count(times * node.params)}",
            "cyan",
        )
        label.append(f" ({units.percent(times * node.params / total)})", "dim")
    elif node.params:
        label.append(f" · {units.count(node.params)} params", "cyan")
        if not is_root:
            label.append(f" ({units.percent(node.params / total)})", "dim")
    if node.shared:
        label.append(" [shared]", "magenta")
    for own, first in node.tied:
        label.append(f" [tied: {printable(own)} is {printable(first)}]", "magenta")
    if node.lazy:
        label.append(" [uninitialized]", "yellow")
    return label


def dry_run_table(
    report: DryRunReport, capped: bool = False, *, fold: bool = True, depth: int | None = None
) -> RenderableType:
    """Every call down to ``depth`` (the first and last few when ``capped``), then the
    totals of the pass. With ``fold``, identical consecutive sibling calls are one row
    "(0-79): 80 x Block" summing them, followed by the calls under the first of them."""
    sheet = _sheet(
        report.model,
        Column("Layer", fold=True),
        Column("Input", drop=1),  # the output of the call before, most of the time
        Column("Output"),
        Column("Params", right=True),
        Column("%", right=True, drop=2),
        Column("FLOPs", right=True),
    )

    def cells(row: CallRow) -> Sequence[str]:
        call, times = row.call, row.times
        name = _call_name(call.path)
        if times > 1:
            name = name_range(name, printable(row.last))
        kind = f"{times} {TIMES} {printable(call.type)}" if times > 1 else printable(call.type)
        label = f"{printable(report.model)} ({kind})" if not call.path else f"({name}): {kind}"
        label += (" [shared]" if call.shared else "") + (" [tied]" if call.tied else "")
        params, share = times * call.params, times * call.params / (report.total or 1)
        return (
            "  " * call.depth + label,
            units.shape(call.input),
            units.shape(call.output),
            units.count(params) if params else "",
            units.percent(share) if params and report.total else "",
            units.count(times * call.flops) if call.flops else "",
        )

    rows = call_rows(report.layers, fold, depth)
    shallower = _terminal_depth(report, fold) if capped and depth is None else None
    if shallower is not None:
        rows = call_rows(report.layers, fold, shallower)
    _add_rows(sheet, rows, cells, capped)
    lines = [
        f"Input: {_inputs(report)} on {report.device}",
        f"Output: {units.shape(report.output)}",
        f"Total params: {units.count(report.total)}",
        f"Total FLOPs: {units.count(report.flops)}"
        + (f" ({units.si(report.flops)}FLOPs)" if report.flops >= 1000 else ""),
    ]
    if report.materialized:
        shapes = ", ".join(f"{m.name} {units.shape(m.shape)}" for m in report.materialized)
        lines.append(f"Materialized: {shapes}")
    if any(call.shared or call.tied for call in report.layers):
        lines.append(
            "Params count a module's tensors at each call; the total counts each once "
            "([shared]: one module called at several places; [tied]: a tensor it holds is "
            "also another module's)."
        )
    folded = next((row for row in rows if row.times > 1), None)
    if folded is not None:
        lines.append(
            f"{folded.times} {TIMES} {printable(folded.call.type)}: {folded.times} identical calls "
            "in one row, the rows under it the first call's (and so for each such row; "
            "--no-fold shows every call)."
        )
    if shallower is not None:
        lines.append(
            f"Calls deeper than {shallower} are summed into the rows above them "
            f"(--depth {shallower + 1} shows the next level; --all shows every call)."
        )
    sheet.after = Text("\n".join(lines))
    return sheet


def _terminal_depth(report: DryRunReport, fold: bool) -> int | None:
    """On a terminal, the deepest view of a dry run that fits without cutting rows out,
    when the whole of it does not (a ResNet-50's 100 rows: its four stages at depth 2);
    None when every call fits, or when even depth 1 does not."""
    limit = ROW_HEAD + ROW_TAIL + 1
    if len(call_rows(report.layers, fold, None)) <= limit:
        return None
    deepest = max((call.depth for call in report.layers), default=0)
    fitting = None
    for depth in range(1, deepest):
        if len(call_rows(report.layers, fold, depth)) > limit:
            break
        fitting = depth
    return fitting


def _call_name(path: str) -> str:
    return printable(path.rsplit(".", 1)[-1])


def _inputs(report: DryRunReport) -> str:
    if not report.inputs:
        return f"{units.shape(report.input)} {report.input_dtype}"
    return _input_list((i.name, i.shape, i.dtype) for i in report.inputs)


def _input_list(inputs: Iterable[tuple[str | None, tuple[int, ...], str]]) -> str:
    """``[2, 16] int64``; several inputs one after another, a keyword one as
    ``attention_mask=[2, 16] int64``."""
    return ", ".join(f"{n + '=' if n else ''}{units.shape(s)} {d}" for n, s, d in inputs)


def shared_table(report: SharedReport) -> RenderableType:
    if not report.groups:
        return Text(f"{printable(report.model)}: no shared parameters")
    sheet = _sheet(
        report.model,
        Column("Names (one tensor)", fold=True),
        Column("Shape"),
        Column("Dtype", drop=1),
        Column("Params", right=True),
        Column("Saved", right=True),
    )
    for group in report.groups:
        numel = group.numel
        sheet.rows.append(
            (
                printable(", ".join(group.names)),
                units.shape(group.shape),
                group.dtype,
                "-" if numel is None else units.count(numel),
                "-" if numel is None else units.count((len(group.names) - 1) * numel),
            )
        )
    sheet.after = Text(
        f"{len(report.groups)} shared group{'s' if len(report.groups) != 1 else ''}; "
        f"ties save {units.count(report.saved)} parameters ({units.size(report.saved_bytes)})"
    )
    return sheet


def _g(x: float) -> str:
    return f"{x:.4g}"


def init_table(
    report: InitReport, saved_to: str | None = None, shards: int | None = None
) -> RenderableType:
    numbers = ("Mean", "Std", "Expected std", "Min", "Max", "Zeros")
    sheet = _sheet(
        report.model,
        Column("Name", fold=True),
        Column("Scheme", fold=True),
        *(Column(name, right=True) for name in numbers),
    )
    off = 0
    for p in report.parameters:
        expected = "" if p.expected_std is None else _g(p.expected_std)
        if p.off:
            expected += " !"
            off += 1
        scheme = printable(p.scheme + (f" ({p.note})" if p.note else ""))
        sheet.rows.append(
            (
                printable(p.name),
                scheme,
                _g(p.mean),
                _g(p.std),
                expected,
                _g(p.min),
                _g(p.max),
                f"{p.zeros:.1%}",
            )
        )
    lines = [f"Seed: {report.seed} (repeat with --seed {report.seed})"]
    if off:
        lines.append(f"! {off} measured std further from the scheme's than sampling explains")
    if saved_to and shards:
        files = (
            f"{shards} safetensors shards and their index" if shards > 1 else "one safetensors file"
        )
        lines.append(
            f"Saved: {saved_to} ({files}, Hugging Face's layout; tied parameters stored once)"
        )
    elif saved_to:
        lines.append(f"Saved: {saved_to} (safetensors; tied parameters stored once)")
    sheet.after = Text("\n".join(lines))
    return sheet


def checkpoint_plan(plan: StreamPlan, folder: str) -> str:
    """One paragraph: what ``init --out DIR/`` will write and take, before it starts."""
    count = len(plan.shards)
    shards = ", ".join(f"{s.file} {units.size(s.nbytes)}" for s in plan.shards[:3])
    more = f" and {count - 3} more" if count > 3 else ""
    layers = plan.layer_units
    whose = "their" if layers != 1 else "its"
    with_layer = f"; {layers} tensor{'s' * (layers != 1)} made with {whose} layer" if layers else ""
    return (
        f"plan: {folder}: {count} shard{'s' * (count != 1)}, {units.size(plan.total)} "
        f"({shards}{more}); values in memory at most {units.size(plan.largest_unit)} at a "
        f"time{with_layer}; disk: {units.size(plan.total)} of {units.size(plan.disk_free)} free"
    )


def ranks_plan(plan: StreamPlan, per_rank: int, folder: str) -> str:
    """What ``torchrun -m netinspect init`` will write and take, said by rank 0 first."""
    return (
        f"plan: {folder}: {len(plan.units)} tensors, {units.size(plan.total)} in "
        "torch.distributed.checkpoint; each rank holds at most about "
        f"{units.size(per_rank)} (its rows, and {units.size(plan.largest_unit)} made whole "
        "at a time)"
    )


def ranks_text(report: RankReport, folder: str) -> RenderableType:
    """What ``torchrun -m netinspect init`` wrote, said by rank 0."""
    ties = len(report.ties)
    lines = [
        f"{printable(report.model)}: {report.tensors} tensors, {units.size(report.bytes)}, "
        f"initialized by {report.ranks} ranks ({report.scheme}; each rank's rows "
        f"{units.size(report.local_bytes)} on rank 0)",
        f"Seed: {report.seed} (repeat with --seed {report.seed})",
        f"Saved: {folder} (torch.distributed.checkpoint; {ties} tied name"
        f"{'s' * (ties != 1)} stored once, recorded in netinspect.json)",
    ]
    return Text("\n".join(lines))


def check_table(report: CheckReport) -> RenderableType:
    sheet = _sheet(
        report.model,
        Column("Check"),
        Column("Limit", right=True),
        Column("Measured", right=True),
        Column("Result"),
    )
    for c in report.checks:
        result = Text("ok", "green") if c.ok else Text("FAILED", "bold red")
        sheet.rows.append(
            (c.name, units.budget(c.kind, c.limit), units.budget(c.kind, c.value), result)
        )
    sheet.after = Text(checks_verdict(report))
    return sheet


def diff_table(report: DiffReport) -> RenderableType:
    totals = Text(
        f"Total params: {units.count(report.total_before)} -> {units.count(report.total_after)} "
        f"({report.total_after - report.total_before:+,})"
    )
    if report.identical:
        same = f"{report.before} and {report.after}: the same parameters"
        return Group(Text(printable(same)), totals)
    sheet = _sheet(
        f"{report.before} -> {report.after}",
        Column(""),
        Column("Name", fold=True),
        Column("Before"),
        Column("After"),
        Column("Params", right=True),
    )
    for c in report.changes:
        mark, style = (
            ("+", "green")
            if c.before is None
            else ("-", "red")
            if c.after is None
            else ("~", "yellow")
        )
        before = f"{units.shape(c.before.shape)} {c.before.dtype}" if c.before else ""
        after = f"{units.shape(c.after.shape)} {c.after.dtype}" if c.after else ""
        sheet.rows.append((Text(mark, style), printable(c.name), before, after, f"{c.delta:+,}"))
    sheet.after = totals
    return sheet


def memory_table(report: MemoryReport) -> RenderableType:
    """What a training step holds at its peak, and where the peak falls."""
    settings, plan = report.settings, report.training
    what = "a no-grad forward" if plan is None else "a training step"
    amp = f", autocast to {str(settings.amp).removeprefix('torch.')}" if settings.amp else ""
    optimizer = "" if plan is None else f", {settings.optimizer}"
    inputs = _input_list(report.inputs)
    title = f"{report.model}: {what} on {settings.target}, {report.dtype}{amp}{optimizer}"
    sheet = _sheet(title, Column("Memory"), Column("Bytes", right=True), Column("", fold=True))
    rows: list[tuple[str, int | None, str]] = [
        ("Parameters and buffers", report.parameters, ""),
        ("Input", report.input, inputs),
    ]
    if plan is not None:
        steady, first = plan.steady, plan.first_step
        rows += [
            ("Gradients", plan.gradients, ""),
            ("Optimizer state", plan.optimizer_state, settings.optimizer),
            ("Saved activations", plan.saved_activations, "kept from forward to backward"),
            ("Peak, training step", steady.peak, f"in {steady.peak_phase} ({steady.peak_op})"),
            ("Peak, first step", first.peak, "optimizer state created in it"),
        ]
    rows.append(("Peak, inference", report.inference_peak, "above parameters and input"))
    for name, value, note in rows:
        sheet.rows.append((name, units.size(value) if value is not None else "-", note))
    lines: list[str] = []
    if plan is not None:
        parts = ", ".join(f"{kind} {units.size(n)}" for kind, n in plan.steady.at_peak.items() if n)
        lines.append(f"At the training peak: {parts}.")
        lines.append("The loss is out.float().mean(); sizes are as CUDA's allocator counts them.")
    fit = report.fit
    if fit is not None:
        verdict = "fits in" if fit.peak <= fit.device_memory else "does NOT fit in"
        margin = units.size(abs(fit.device_memory - fit.peak))
        lines.append(
            f"Batch {fit.batch} {verdict} {units.size(fit.device_memory)} "
            f"({margin} {'to spare' if fit.peak <= fit.device_memory else 'too much'}; "
            f"the largest term at the peak: {fit.dominant})."
        )
        largest = f"{fit.largest_batch} (peak {units.size(fit.largest_peak)})"
        lines.append(
            f"The largest batch that fits: {largest}."
            if fit.largest_batch
            else "Not even a batch of 1 fits."
        )
    if report.convolutions:
        lines.append(
            f"Not planned: cuDNN's workspace for the {report.convolutions} convolutions, which "
            "cuDNN sizes by the memory it finds free (elastic)."
        )
    sheet.after = Text("\n".join(lines))
    if plan is None or not plan.layers:
        return sheet
    return Group(
        sheet, Text(""), _saved_by_layer(report.model, plan.layers, plan.saved_activations)
    )


#: The layers a memory report lists by what they save for backward.
TOP_LAYERS = 10


def _saved_by_layer(model: str, layers: Sequence[tuple[str, int]], total: int) -> Sheet:
    """The layers that save the most for backward (a block counts what its own code saves,
    its children's apart), largest first."""
    sheet = _sheet(
        f"Saved for backward, by layer (the {min(len(layers), TOP_LAYERS)} largest)",
        Column("Layer", fold=True),
        Column("Saved", right=True),
        Column("%", right=True),
    )
    for path, saved in layers[:TOP_LAYERS]:
        share = units.percent(saved / total) if total else ""
        sheet.rows.append((printable(path) or printable(model), units.size(saved), share))
    if len(layers) > TOP_LAYERS:
        rest = sum(n for _, n in layers[TOP_LAYERS:])
        sheet.after = Text(f"{len(layers) - TOP_LAYERS} more layers save {units.size(rest)}.")
    return sheet


def load_table(report: LoadReport) -> RenderableType:
    """What ``load_state_dict`` would say, name by name, and the verdict."""
    call = "load_state_dict(weights" + ("" if report.strict else ", strict=False") + ")"
    verdict = (
        f"model.{call} would work" if report.ok else f"model.{call} would FAIL"
    ) + f": {report.expected} names in the model, {report.found} in {printable(report.weights)}"
    if not report.problems:
        return Text(f"{printable(report.model)}: {verdict}.")
    sheet = _sheet(
        f"{printable(report.model)} <- {printable(report.weights)}",
        Column("Name", fold=True),
        Column("Problem"),
        Column("In the model"),
        Column("In the file"),
        Column("", fold=True),
    )
    for p in report.problems:
        mark = Text(p.kind, "bold red" if p.fatal else "yellow")
        sheet.rows.append(
            (printable(p.name), mark, _entry(p.expected), _entry(p.found), printable(p.hint or ""))
        )
    fatal = sum(p.fatal for p in report.problems)
    warned = len(report.problems) - fatal
    counts = f" ({fatal} error{'s' * (fatal != 1)}, {warned} warning{'s' * (warned != 1)})"
    sheet.after = Text(verdict + counts + ".")
    return sheet


def _entry(entry: LoadEntry | None) -> str:
    if entry is None:
        return "-"
    shape = units.shape(entry.shape) if entry.shape is not None else "lazy"
    return f"{shape} {entry.dtype}"
