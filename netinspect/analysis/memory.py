"""The memory a real run will take, planned on the meta device before anything is allocated.

A real run (``dry-run --device cpu``, ``init``) holds the parameters and buffers, after
lazy layers have their shapes, plus the example input, plus whatever the forward pass
keeps alive at its worst moment. :func:`plan_forward` runs the pass on meta under
:class:`LiveStorages`, a ``TorchDispatchMode`` that follows every storage an operation
creates from allocation to free (a weak reference on the storage tells when the last tensor
using it is gone), so its peak is the peak of live activation bytes the real pass will
have, views counted once. Kernels' private workspace (a convolution's scratch buffers) is
not a tensor and is not planned.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_leaves

from netinspect.analysis.dryrun import Example
from netinspect.analysis.tensors import is_lazy
from netinspect.dispatch import Mode


@dataclass(frozen=True)
class MemoryPlan:
    """Bytes of a real run: parameters and buffers (lazy ones shaped), the example input,
    the peak of the tensors the forward pass creates, and temporaries of what follows it
    (an init scheme's float32 copy of a half-precision weight)."""

    parameters: int
    input: int
    activations: int
    temporaries: int = 0

    @property
    def total(self) -> int:
        return self.parameters + self.input + self.activations + self.temporaries


class LiveStorages(Mode):
    """Follows the storages operations create: bytes live now, and the most ever live.
    Storages that exist before it starts (parameters, the input) are not counted."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: dict[int, int] = {}  # storage address -> bytes, while alive
        self.live = 0
        self.peak = 0
        self.kept: set[int] = set()  # storages to leave out (parameters made during the pass)

    def dispatch(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        out = func(*args, **kwargs)
        # A view or an in-place result shares an input's storage: nothing new. (Its input
        # may predate the tracker, as a parameter does: weight.t() allocates nothing.)
        inputs = {
            t.untyped_storage()._cdata
            for t in tree_leaves((args, kwargs))
            if isinstance(t, torch.Tensor)
        }
        for leaf in tree_leaves(out):
            if isinstance(leaf, torch.Tensor):
                storage = leaf.untyped_storage()
                if storage._cdata not in inputs:
                    self.created(storage)
        return out

    def created(self, storage: torch.UntypedStorage) -> None:
        key = storage._cdata
        if key in self.sizes:
            return  # counted already (an output returned twice)
        size = storage.nbytes()
        self.sizes[key] = size
        self.live += size
        self.peak = max(self.peak, self.live)
        weakref.finalize(storage, self.freed, key)

    def freed(self, key: int) -> None:
        self.live -= self.sizes.pop(key, 0)


def tensor_bytes(module: nn.Module) -> int:
    """Bytes of the distinct parameters and buffers of ``module`` that have a shape."""
    seen: dict[int, int] = {}
    for t in (*module.parameters(), *module.buffers()):
        if not is_lazy(t):
            seen.setdefault(id(t), t.numel() * t.element_size())
    return sum(seen.values())


def plan_forward(
    module: nn.Module, example: Example, run: Callable[[nn.Module, Example], object]
) -> MemoryPlan:
    """Run ``run(module, example)`` (a meta forward pass) under :class:`LiveStorages` and
    plan the real run from it. ``module`` and ``example`` are on meta.

    The pass runs twice. The first shapes lazy layers (their parameters count as
    parameters, all of them from the start) and runs every operation's first call: some
    of torch's first calls leave a reference cycle holding their frames, and with them an
    activation, until the cycle collector runs (netinspect's command turns it off), which
    would count a 300 MB activation twice. Then the collector runs once, and the second
    pass is measured."""
    run(module, example)
    gc.collect()
    tracker = LiveStorages()
    with tracker:
        run(module, example)
    return MemoryPlan(
        parameters=tensor_bytes(module),
        input=sum(t.numel() * t.element_size() for _, t in example.named()),
        activations=tracker.peak,
    )
