"""The dry run's two fast paths on leaf calls (see ``analysis.dryrun``).

**Answers from memory.** Real models repeat identical layers thousands of times, and a meta
kernel still costs a fraction of a millisecond (LayerNorm about 1 ms). A plain leaf's
result on meta depends only on its state (``state.layer_state``) and its inputs' shapes,
strides and dtypes, so each distinct call runs once and a repeat gets fresh meta tensors of
the recorded shapes and the recorded FLOPs. ``layer_state`` answers None for what it cannot
vouch for (a lazy layer, hooks, real data, state it does not know), and that call runs.

**Counting around leaves.** ``FlopCounterMode`` over the whole pass puts every call
through Python dispatch and module tracking (about 4x on a 12,000-layer stack). When every
FLOP happens inside a leaf (all blocks plain ``nn.Sequential``, nothing hooked), counting
around each leaf call gives the same total. This reads ``nn.Module``'s hook tables; if this
torch does not have them where expected, the whole pass is counted.

Both are off with ``NETINSPECT_NO_FAST_PATHS=1``, and tests compare them with the plain pass.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_flatten, tree_leaves, tree_map

from netinspect._fast.state import layer_state


class LeafCalls:
    """Results of leaf calls on meta, by what they depend on."""

    def __init__(self) -> None:
        self.results: dict[Hashable, tuple[Any, int]] = {}

    def key(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable:
        """What the call's result depends on, or None when it must run."""
        if not args or not _all_meta(args):
            return None
        state = layer_state(module, ignore="forward")  # the pass's own wrapper aside
        if state is None:
            return None
        return (state, _signature(args) if not kwargs else _signature((args, kwargs)))

    def answer(self, key: Hashable) -> tuple[Any, int] | None:
        """Fresh outputs and the FLOPs of a call made before, or None."""
        found = self.results.get(key)
        if found is None:
            return None
        output, flops = found
        return _fresh_meta(output), flops

    def remember(self, key: Hashable, output: Any, flops: int) -> None:
        self.results[key] = (_fresh_meta(output), flops)


def counts_in_leaves(modules: list[nn.Module]) -> bool:
    """True when every FLOP happens inside a leaf: all blocks are plain ``nn.Sequential``
    (whose forward only calls its children) and nothing is hooked."""
    tables = nn.modules.module
    global_hooks = getattr(tables, "_global_forward_hooks", None)
    global_pre_hooks = getattr(tables, "_global_forward_pre_hooks", None)
    if global_hooks is None or global_pre_hooks is None:  # not where this relies on them
        return False
    if global_hooks or global_pre_hooks:
        return False
    for m in modules:
        if _hooked(m) or "forward" in m.__dict__:
            return False
        if m._modules and type(m) is not nn.Sequential:
            return False
    return True


def _hooked(module: nn.Module) -> bool:
    """Forward hooks of its own (a lazy layer's shape-inference hook aside), or hook tables
    not where this expects them."""
    pre_hooks = module.__dict__.get("_forward_pre_hooks")
    hooks = module.__dict__.get("_forward_hooks")
    if pre_hooks is None or hooks is None:
        return True
    own_pre_hooks = bool(pre_hooks) and not isinstance(module, nn.modules.lazy.LazyModuleMixin)
    return own_pre_hooks or bool(hooks)


def _signature(value: Any) -> Hashable:
    """What a call's result on meta depends on: tensor shapes, strides and dtypes, and the
    other arguments as they are."""
    if type(value) is tuple and len(value) == 1 and type(value[0]) is torch.Tensor:
        t = value[0]  # the usual call: one tensor
        return (tuple(t.shape), t.stride(), t.dtype, t.device.type)
    leaves, spec = tree_flatten(value)
    parts: list[Hashable] = [str(spec)]
    for leaf in leaves:
        if isinstance(leaf, torch.Tensor):
            parts.append((tuple(leaf.shape), leaf.stride(), leaf.dtype, leaf.device.type))
        else:
            parts.append(repr(leaf))
    return tuple(parts)


def _fresh_meta(value: Any) -> Any:
    """A fresh meta tensor (same shape, strides, dtype) for every tensor in ``value``."""

    def fresh(leaf: Any) -> Any:
        if isinstance(leaf, torch.Tensor):
            return torch.empty_strided(leaf.shape, leaf.stride(), dtype=leaf.dtype, device="meta")
        return leaf

    if isinstance(value, torch.Tensor):
        return fresh(value)
    return tree_map(fresh, value)


def _all_meta(args: tuple[Any, ...]) -> bool:
    leaves = args if all(type(a) is torch.Tensor for a in args) else tree_leaves(args)
    return all(t.device.type == "meta" for t in leaves if isinstance(t, torch.Tensor))
