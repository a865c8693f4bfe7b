"""Values a meta pass knows: a mask input's ones, and what small operations make of them.

A meta tensor has a shape and no values, so a forward that reads one (``bool(t)``,
``t.item()``, ``t.all()`` in an ``if``) fails on meta. transformers' models do exactly this
with their ``attention_mask``: BERT asks ``padding_mask.all()`` to choose its attention
path. netinspect makes every mask input all ones (see ``dryrun.example_input``), so the
meta pass knows those values. :class:`KnownValues`, a dispatch mode, keeps for each meta
tensor whose values are known a small cpu copy of them (its *value*), computes the value
of every operation whose tensor operands all have one, and answers a read of a meta
tensor's value from it. A tensor of more than :data:`MAX_KNOWN` elements gets no value
(its copy would cost memory a meta pass must not take); reading one still fails, as it
would without this mode.

Values are computed with every dispatch mode off, so the FLOP counter and the memory
planner see only the meta pass itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch.utils._pytree import tree_leaves, tree_map
from torch.utils.weak import WeakIdKeyDictionary

from netinspect.dispatch import Mode, modes_off

#: The most elements a known value may have: a [2, 512, 512] mask, not a hidden state.
MAX_KNOWN = 2**20

_READS = {torch.ops.aten._local_scalar_dense.default}  # item(), bool(), int(): one value


class KnownValues(Mode):
    """Keeps the values of meta tensors that follow from known ones (see the module)."""

    def __init__(self, known: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> None:
        super().__init__()
        self.values: WeakIdKeyDictionary = WeakIdKeyDictionary()
        for tensor, value in known:
            self.values[tensor] = value

    def dispatch(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        operands = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        meta = [t for t in operands if t.device.type == "meta"]
        known = bool(meta) and all(t in self.values for t in meta)
        if known and func in _READS:
            with modes_off():
                return func(*self._values(args), **self._values(kwargs))
        out = func(*args, **kwargs)
        outputs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        if known and outputs and all(t.numel() <= MAX_KNOWN for t in outputs):
            self._follow(func, args, kwargs, outputs)
        return out

    def _follow(
        self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], outputs: list[Any]
    ) -> None:
        with modes_off():
            value = func(*self._values(args), **self._values(kwargs))
        values = [t for t in tree_leaves(value) if isinstance(t, torch.Tensor)]
        if len(values) != len(outputs):
            return
        for tensor, known in zip(outputs, values, strict=True):
            if tensor.device.type == "meta" and tuple(known.shape) == tuple(tensor.shape):
                self.values[tensor] = known

    def _values(self, tree: Any) -> Any:
        """``tree`` with each meta tensor replaced by its value, and meta devices by cpu."""

        def value(leaf: Any) -> Any:
            if isinstance(leaf, torch.Tensor) and leaf.device.type == "meta":
                return self.values[leaf]
            if isinstance(leaf, torch.device) and leaf.type == "meta":
                return torch.device("cpu")
            return leaf

        return tree_map(value, tree)
