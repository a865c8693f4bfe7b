"""What the HTML report shows: every place in the block tree as a row, with the totals.

A row is a place, as in ``tree`` (a shared module is a row at each place it is used); its
``own`` is what the treemap sizes it by: the elements of its own tensors *first named
there*, so a tied or shared tensor fills the map once, at its first place, and the map's
area adds up to the model's distinct total.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from torch import nn

from netinspect.analysis.dryrun import DryRunReport
from netinspect.analysis.params import ParamsReport
from netinspect.analysis.tensors import alias_groups, is_lazy, tensor_key
from netinspect.analysis.training import MemoryReport


@dataclass(frozen=True)
class Row:
    parent: int  # the parent row's index; -1 for the root
    depth: int
    name: str  # its name in its parent (the model's name for the root)
    path: str  # "" for the root
    type: str
    args: str
    params: int  # distinct elements in its subtree, as tree counts them
    own: int  # elements of its own tensors first named at this place (the treemap's area)
    module: int  # the same number at every place of one module object (shared modules)
    places: int  # how many places that module is used at
    lazy: bool  # holds a parameter with no shape yet
    tied: tuple[str, ...]  # own tensors first named elsewhere, as "weight = embed.weight"
    input: tuple[int, ...] | None = None  # the first call's shapes, from the dry run
    output: tuple[int, ...] | None = None
    flops: int | None = None  # every call's at this place, children's included


@dataclass(frozen=True)
class ModelReport:
    model: str
    rows: tuple[Row, ...]
    params: ParamsReport
    run: DryRunReport | None  # None: no input known, so no shapes, FLOPs or memory
    memory: MemoryReport | None
    memory_note: str | None  # why there is no memory plan
    ties: tuple[tuple[str, ...], ...]  # each tensor known by several names, its names


def rows(module: nn.Module, model_name: str, run: DryRunReport | None = None) -> tuple[Row, ...]:
    """Every place of the block tree (``analysis.tree``: class, arguments, parameters, lazy
    and tied marks), depth first, with what the page adds: the treemap's area, which module
    object each place is, and the dry run's shapes and FLOPs. A layer is ``lazy`` when it
    still has unshaped parameters, or the run gave them their shapes."""
    from netinspect.analysis.tree import TreeNode, tree

    shaped_by_run = {m.name.rpartition(".")[0] for m in run.materialized} if run else set()
    first_name = {
        tensor_key(p): names[0]
        for names, p in alias_groups(module.named_parameters(remove_duplicate=False))
    }
    by_path = dict(module.named_modules(remove_duplicate=False))
    places = Counter(id(m) for m in by_path.values())
    numbers: dict[int, int] = {}
    calls = _calls_by_path(run)
    out: list[Row] = []

    def own(m: nn.Module, path: str) -> int:
        """Elements of the tensors first named at this place."""
        return sum(
            p.numel()
            for local, p in m._parameters.items()
            if p is not None and not is_lazy(p)
            and first_name[tensor_key(p)] == (f"{path}.{local}" if path else local)
        )  # fmt: skip

    def add(node: TreeNode, parent: int, depth: int) -> None:
        m = by_path[node.path]
        shapes, flops = calls.get(node.path, ((None, None), None))
        index = len(out)
        out.append(
            Row(
                parent=parent, depth=depth, name=node.name, path=node.path, type=node.type,
                args=node.args, params=node.params, own=own(m, node.path),
                module=numbers.setdefault(id(m), len(numbers)), places=places[id(m)],
                lazy=node.lazy or node.path in shaped_by_run,
                tied=tuple(f"{local} = {first}" for local, first in node.tied),
                input=shapes[0], output=shapes[1], flops=flops,
            )
        )  # fmt: skip
        for child in node.children:
            add(child, index, depth + 1)

    add(tree(module, model_name).root, -1, 0)
    return tuple(out)


Shapes = tuple[tuple[int, ...] | None, tuple[int, ...] | None]


def _calls_by_path(run: DryRunReport | None) -> dict[str, tuple[Shapes, int]]:
    """Each call path's first shapes and all its calls' FLOPs (a place called twice, as a
    loop would, adds both)."""
    found: dict[str, tuple[Shapes, int]] = {}
    for call in run.layers if run else ():
        shapes, flops = found.get(call.path, ((call.input, call.output), 0))
        found[call.path] = (shapes, flops + call.flops)
    return found
