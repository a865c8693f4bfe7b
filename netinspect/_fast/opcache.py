"""The memory planner's fast path: identical operations on meta answered from memory.

A training step of a 24-layer transformer runs about 16,000 operations on meta, three
steps over, each through torch's Python meta kernels (a third of a millisecond apiece),
though most are repeats: the same operator on tensors of the same shapes, strides and
dtypes, with the same other arguments. An operation whose outputs are new storages (none
is a view of an input, none shares a storage with another) has, on meta, nothing to it
but those outputs' shapes, strides and dtypes: the first call runs and is remembered, and
a repeat gets fresh meta tensors of the same layout, allocated as the kernel would.

It relies on meta kernels depending only on what the key holds. What it cannot vouch for
runs as it is: an operation on a tensor that is not on meta (AdamW's step counters live on
the cpu: a remembered result would freeze them), an argument it cannot key, an output
that aliases an input (found on the first call, ``_unsafe_view`` included, whose schema
does not say so), a storage larger than its tensor. Off with ``NETINSPECT_NO_FAST_PATHS``;
a test plans with it on and off and requires the same plan.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import torch
from torch.utils._pytree import tree_flatten, tree_unflatten

_UNKNOWN = object()


class OpCache:
    """Outputs of meta operations, by what they depend on (see the module)."""

    def __init__(self) -> None:
        self.layouts: dict[Hashable, Any] = {}  # key -> (spec, leaves as layouts) or _UNKNOWN

    def key(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable | None:
        parts: list[Hashable] = [func]
        if not _describe(args, parts) or (kwargs and not _describe(kwargs, parts)):
            return None
        return tuple(parts)

    def answer(self, key: Hashable) -> Any:
        """Fresh outputs for a call made before, or None (not seen, or it must run)."""
        found = self.layouts.get(key)
        if found is None or found is _UNKNOWN:
            return None
        spec, leaves = found
        fresh = [
            torch.empty_strided(leaf[0], leaf[1], dtype=leaf[2], device="meta")
            if isinstance(leaf, tuple) and len(leaf) == 3 and isinstance(leaf[2], torch.dtype)
            else leaf
            for leaf in leaves
        ]
        return tree_unflatten(fresh, spec)

    def remember(
        self, key: Hashable, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any
    ) -> None:
        if key in self.layouts:
            return
        inputs = {
            t.untyped_storage()._cdata
            for t in tree_flatten((args, kwargs))[0]
            if isinstance(t, torch.Tensor)
        }
        leaves, spec = tree_flatten(out)
        seen: set[int] = set()
        layouts: list[Any] = []
        for leaf in leaves:
            if isinstance(leaf, torch.Tensor):
                storage = leaf.untyped_storage()
                fresh = torch.empty_strided(
                    leaf.shape, leaf.stride(), dtype=leaf.dtype, device="meta"
                )
                if (
                    storage._cdata in inputs
                    or storage._cdata in seen
                    or leaf.storage_offset() != 0
                    or storage.nbytes() != fresh.untyped_storage().nbytes()
                    or type(leaf) is not torch.Tensor
                ):
                    self.layouts[key] = _UNKNOWN  # aliases, or not plainly allocated: runs
                    return
                seen.add(storage._cdata)
                layouts.append((tuple(leaf.shape), leaf.stride(), leaf.dtype))
            elif leaf is None or isinstance(leaf, (bool, int, float)):
                layouts.append(leaf)
            else:
                self.layouts[key] = _UNKNOWN
                return
        self.layouts[key] = (spec, layouts)


_PLAIN = (bool, int, float, str, torch.dtype, type(None))


def _describe(value: Any, parts: list[Hashable]) -> bool:
    """Append what ``value`` (arguments: tensors, numbers, lists and dicts of them) means
    to a meta kernel; False when it holds something this cannot key."""
    if type(value) is torch.Tensor or type(value) is torch.nn.Parameter:
        parts.append((tuple(value.shape), value.stride(), value.dtype, value.storage_offset()))
        return value.device.type == "meta"
    if isinstance(value, _PLAIN):
        parts.append((type(value), value))
    elif isinstance(value, (torch.device, torch.memory_format, torch.layout)):
        parts.append(str(value))
    elif isinstance(value, (tuple, list)):
        parts.append(("(", len(value)))
        return all(_describe(item, parts) for item in value)
    elif isinstance(value, dict):
        parts.append(("{", tuple(value)))
        return all(_describe(item, parts) for item in value.values())
    else:
        return False
    return True


def tensors(value: Any) -> list[torch.Tensor]:
    """The tensors in operation arguments or results (tuples, lists, dicts of them), in
    order: ``tree_leaves`` without its generality, which costs more than the operation."""
    if isinstance(value, torch.Tensor):
        return [value]
    found: list[torch.Tensor] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            found.append(item)
        elif isinstance(item, (tuple, list)):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
    return found
