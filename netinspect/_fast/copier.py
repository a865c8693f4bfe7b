"""Fresh copies of a layer on meta, instead of constructing each again (a fast path).

Building 12,000 layers spends most of its time in ``__init__`` and ``reset_parameters``,
whose values mean nothing on meta; a copy takes a fraction of that. A copy is made only of a
plain meta leaf (see ``builder.modules.plain_leaf``) without hooks; anything else is constructed.
It relies on ``nn.Module`` keeping a layer's whole state in its ``__dict__``: settings as
plain values, tensors and hooks in the tables ``builder.modules`` knows. That is checked
for each module (``plain_leaf``) and once for torch itself: a probe ``Linear`` is copied
and the copy must match a constructed one. If either fails, layers are constructed. Tests
compare copied and constructed models, and ``NETINSPECT_NO_FAST_PATHS=1`` turns copying off.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from netinspect._fast import enabled
from netinspect.builder.modules import BOOKKEEPING, plain_leaf


def _fresh_tensor(tensor: torch.Tensor) -> torch.Tensor:
    return torch.empty_strided(
        tensor.shape, tensor.stride(), dtype=tensor.dtype, device=tensor.device
    )


def copier(module: nn.Module) -> Callable[[], nn.Module] | None:
    """A function making new copies of ``module`` (as it is now), each a layer as its
    constructor would build it again on meta: same class and settings, its own parameters
    and buffers (same shapes, dtypes and ``requires_grad``), no hooks. Checked once, so a
    layer repeated thousands of times is cheap to copy. None when ``module`` is not a plain
    meta leaf (see ``builder.modules.plain_leaf``) or has hooks.

    Building 12,000 layers spends most of its time in ``__init__`` and ``reset_parameters``,
    whose values mean nothing on meta; a copy takes a fraction of that.
    """
    if not enabled() or not plain_leaf(module) or not _copies_work():
        return None
    return _copier(module)


def _copier(module: nn.Module) -> Callable[[], nn.Module] | None:
    # The module's attributes in their own order; the values that cannot be shared get
    # replaced per copy by a fresh one from their factory.
    template = dict(module.__dict__)
    fresh: list[tuple[str, Callable[[], Any]]] = []
    for name, value in template.items():
        if name in ("_parameters", "_buffers"):
            if any(t is not None and t.device.type != "meta" for t in value.values()):
                return None  # real values: a copy would not have them
            fresh.append((name, functools.partial(_fresh_table, dict(value))))
        elif name == "_non_persistent_buffers_set":
            fresh.append((name, functools.partial(set, value)))  # of names
        elif name in BOOKKEEPING and isinstance(value, (dict, set, list)):
            if value:
                return None  # hooks: they may refer to the module they were registered on
            fresh.append((name, type(value)))
        # anything else is immutable, as plain_leaf checked: shared
    cls = type(module)

    def make() -> nn.Module:
        copy = cls.__new__(cls)
        state = template.copy()
        for name, new in fresh:
            state[name] = new()
        copy.__dict__.update(state)
        return copy

    return make


def _fresh_table(tensors: dict[str, torch.Tensor | None]) -> dict[str, torch.Tensor | None]:
    return {k: _fresh_like(t) for k, t in tensors.items()}


def _fresh_like(tensor: torch.Tensor | None) -> torch.Tensor | None:
    if tensor is None:
        return None
    if type(tensor) is nn.Parameter:
        return nn.Parameter(_fresh_tensor(tensor), tensor.requires_grad)
    return _fresh_tensor(tensor)


@functools.cache
def _copies_work() -> bool:
    """Whether this torch's modules copy as :func:`copier` copies them: a probe layer's copy
    has the constructed layer's attributes, tensors of their own, and runs."""
    with torch.device("meta"):
        built, again = nn.Linear(2, 3), nn.Linear(2, 3)
    make = _copier(built) if plain_leaf(built) else None
    if make is None:
        return False
    copy = make()
    own = copy.weight is not built.weight and copy._parameters is not built._parameters
    same = copy.__dict__.keys() == again.__dict__.keys() and all(
        (a.shape, a.dtype, type(a)) == (b.shape, b.dtype, type(b))
        for a, b in zip(copy.parameters(), again.parameters(), strict=True)
    )
    try:
        runs = copy(torch.empty(4, 2, device="meta")).shape == (4, 3)
    except Exception:  # a copy torch cannot run: construct instead
        runs = False
    return own and same and runs
