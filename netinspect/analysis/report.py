"""What the HTML report shows: every place in the block tree as a row, with the totals.

A row is a place, as in ``tree`` (a shared module is a row at each place it is used); its
``own`` is what the treemap sizes it by: the elements of its own tensors *first named
there*, so a tied or shared tensor fills the map once, at its first place, and the map's
area adds up to the model's distinct total.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from torch import nn

from netinspect.analysis.dryrun import DryRunReport
from netinspect.analysis.params import ParamsReport
from netinspect.analysis.tensors import alias_groups, distinct_numel, is_lazy, tensor_key
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
    """Every place of the tree, depth first, with the dry run's shapes and FLOPs. A layer
    is ``lazy`` when it still has unshaped parameters, or the run gave them their shapes."""
    shaped_by_run = {m.name.rpartition(".")[0] for m in run.materialized} if run else set()
    groups = alias_groups(module.named_parameters(remove_duplicate=False))
    first_name = {tensor_key(p): names[0] for names, p in groups}
    places: dict[int, int] = defaultdict(int)
    for _, m in module.named_modules(remove_duplicate=False):
        places[id(m)] += 1
    numbers: dict[int, int] = {}
    calls = _calls_by_path(run)
    out: list[Row] = []

    def add(m: nn.Module, name: str, path: str, parent: int, depth: int) -> None:
        own, tied = 0, []
        for local, p in m._parameters.items():
            if p is None:
                continue
            full = f"{path}.{local}" if path else local
            first = first_name[tensor_key(p)]
            if first == full:
                own += 0 if is_lazy(p) else p.numel()
            elif places[id(m)] == 1:  # a shared module's repeats are marked shared instead
                tied.append(f"{local} = {first}")
        shapes, flops = calls.get(path, ((None, None), None))
        index = len(out)
        out.append(
            Row(
                parent=parent, depth=depth, name=name, path=path, type=type(m).__name__,
                args=m.extra_repr(), params=distinct_numel(m.parameters()), own=own,
                module=numbers.setdefault(id(m), len(numbers)), places=places[id(m)],
                lazy=path in shaped_by_run or any(is_lazy(p) for p in m.parameters(recurse=False)),
                tied=tuple(tied),
                input=shapes[0], output=shapes[1], flops=flops,
            )
        )  # fmt: skip
        for child_name, child in m._modules.items():
            if child is not None:
                child_path = f"{path}.{child_name}" if path else child_name
                add(child, child_name, child_path, index, depth + 1)

    add(module, model_name, "", -1, 0)
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


def tie_names(module: nn.Module) -> tuple[tuple[str, ...], ...]:
    """The names of each parameter known by several names (tied or in a shared module)."""
    groups = alias_groups(module.named_parameters(remove_duplicate=False))
    return tuple(tuple(names) for names, _ in groups if len(names) > 1)
