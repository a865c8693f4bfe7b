"""The shape of a spec's model through its blocks: definitions that contain themselves, how
deep the model nests, how many modules (or tensors) it expands to. No recursion follows a
chain of uses, which may be as long as the spec is. No torch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeAlias

from netinspect.errors import LimitError, Location, SpecError
from netinspect.spec.model import (
    BlockUse,
    Child,
    Layer,
    LayerCall,
    Repeat,
    Sequence,
    SharedUse,
    Spec,
)

_Key: TypeAlias = tuple[str, str]  # ("block" or "shared", name)
_Refs: TypeAlias = list[tuple[BlockUse | SharedUse, int]]  # a use, and its nesting level


def _key(ref: BlockUse | SharedUse) -> _Key:
    return ("block" if isinstance(ref, BlockUse) else "shared", ref.name)


def _local_depth(layer: Layer | Repeat, level: int, refs: _Refs) -> int:
    """Module levels of ``layer`` itself, not following uses of blocks and shared modules,
    which are collected in ``refs`` with the level they stand at. Recursion here is bounded
    by the YAML's own nesting (the loader's depth limit)."""
    if isinstance(layer, LayerCall):
        return 1
    if isinstance(layer, (BlockUse, SharedUse)):
        refs.append((layer, level))
        return 0
    if isinstance(layer, Repeat):
        return _local_depth(layer.layer, level, refs)
    items = (i.layer if isinstance(i, Child) else i for i in layer.items)
    return 1 + max((_local_depth(i, level + 1, refs) for i in items), default=0)


def _definitions_info(
    blocks: Mapping[str, Layer], shared: Mapping[str, Layer]
) -> dict[_Key, tuple[Layer, _Refs]]:
    defs: dict[_Key, Layer] = {("block", n): v for n, v in blocks.items()}
    defs.update({("shared", n): v for n, v in shared.items()})
    info: dict[_Key, tuple[Layer, _Refs]] = {}
    for key, layer in defs.items():
        refs: _Refs = []
        _local_depth(layer, 0, refs)
        info[key] = (layer, refs)
    return info


def _post_order(info: dict[_Key, tuple[Layer, _Refs]]) -> list[_Key]:
    """Every definition after the ones it uses; a definition that (indirectly) uses itself
    can never be built and is refused. Without recursion: the chain of uses may be as long
    as the spec is."""
    order: list[_Key] = []
    done: set[_Key] = set()
    for root in info:
        if root in done:
            continue
        path, walks = [root], [iter(info[root][1])]
        while walks:
            step = next(walks[-1], None)
            if step is None:  # every use below path[-1] is done
                done.add(path[-1])
                order.append(path.pop())
                walks.pop()
                continue
            ref = step[0]
            ref_key = _key(ref)
            if ref_key in path:
                chain = " → ".join(n for _, n in [*path[path.index(ref_key) :], ref_key])
                raise SpecError(
                    f"{ref_key[0]} {ref.name!r} contains itself ({chain}); "
                    "a model cannot contain itself",
                    ref.loc,
                )
            if ref_key not in done:
                path.append(ref_key)
                walks.append(iter(info[ref_key][1]))
    return order


def check_structure(
    blocks: Mapping[str, Layer], shared: Mapping[str, Layer], model: Layer, max_depth: int
) -> None:
    """Refuse definitions that contain themselves, and a model that nests deeper than
    ``max_depth`` through its blocks (400 blocks each holding the next nest 400 levels, in
    a few YAML lines), which would exhaust Python's stack in torch and here."""
    info = _definitions_info(blocks, shared)
    depth: dict[_Key, int] = {}
    for key in _post_order(info):
        layer, refs = info[key]
        local = _local_depth(layer, 0, [])
        depth[key] = max([local, *(lvl + depth[_key(r)] for r, lvl in refs)])
    model_refs: _Refs = []
    total = _local_depth(model, 0, model_refs)
    total = max([total, *(lvl + depth[_key(r)] for r, lvl in model_refs)]) + (
        0 if isinstance(model, Sequence) else 1  # one layer is wrapped in a Sequential
    )
    if total > max_depth:
        chain, where = _deepest_chain(model_refs, info, depth)
        raise LimitError(
            f"the model nests {total} modules deep through its blocks ({chain}), more than "
            f"the limit of {max_depth}",
            where or model.loc,
            "Flatten the chain of blocks, or raise the limit with --max-depth.",
        )


def _deepest_chain(
    uses: _Refs, info: dict[_Key, tuple[Layer, _Refs]], depth: dict[_Key, int]
) -> tuple[str, Location | None]:
    """The uses along the deepest path from the model, as 'a → b → …', and where it starts."""
    names: list[str] = []
    start: Location | None = None
    while uses:
        ref, _ = max(uses, key=lambda u: u[1] + depth[_key(u[0])])
        start = start or ref.loc
        names.append(ref.name)
        uses = info[_key(ref)][1]
    shown = names if len(names) <= 6 else [*names[:3], "…", *names[-2:]]
    return " → ".join(shown), start


def count_modules(
    spec: Spec, weight: Callable[[LayerCall], int] = lambda call: 1, per_sequence: int = 1
) -> int:
    """How many modules the model tree expands to, without building it.

    Exact Python integers, so ``repeat: 100000000`` inside ``repeat: 100000000`` is counted,
    not built. A shared module counts once per place it appears. ``weight`` is what one
    layer call counts (1 by default; a measured count of its modules or tensors), and
    ``per_sequence`` what a block's own ``nn.Sequential`` counts (0 when counting
    tensors). The definitions are sized in order, so no recursion follows a chain of blocks.
    """
    info = _definitions_info(spec.blocks, spec.shared)
    sizes: dict[_Key, int] = {}

    def size(layer: Layer | Repeat) -> int:  # recursion bounded by the YAML's nesting
        if isinstance(layer, LayerCall):
            return weight(layer)
        if isinstance(layer, Repeat):
            return layer.count * size(layer.layer) if layer.count else 0
        if isinstance(layer, Sequence):
            items = (i.layer if isinstance(i, Child) else i for i in layer.items)
            return per_sequence + sum(size(i) for i in items)
        return sizes[_key(layer)]

    for key in _post_order(info):
        sizes[key] = size(info[key][0])
    return size(spec.model) + (0 if isinstance(spec.model, Sequence) else per_sequence)


#: A tensor's storage size in bytes must fit in 63 bits, at up to 8 bytes an element.
