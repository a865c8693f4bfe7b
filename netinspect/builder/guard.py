"""Building layers a spec asks for on the meta device: nothing real, and bounded work.

A spec is untrusted, and a constructor is torch's code run with the spec's arguments.
While a layer is built for inspection, every tensor operation passes through
:class:`MetaOnly` (a dispatch mode), which

- refuses any operation that would allocate on a real device (an explicit ``device`` that
  is not meta), before the allocation happens, and any result that is not on meta;
- counts operations against a budget shared by the whole build, so a constructor that
  loops over an argument torch does not bound stops at the budget instead of running for
  minutes.

The counts netinspect predicts before building (see ``layers.structure``) refuse the known
cases up front; this is the backstop for the rest. It costs a few microseconds per tensor
operation, and only layers that are constructed (not copied) pay it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils._pytree import tree_leaves

from netinspect.dispatch import Mode
from netinspect.errors import LayerError, LimitError, Location

#: Tensor operations one constructor may run per tensor the build may create: a layer's
#: construction runs one to three (allocate, initialize, copy).
OPERATIONS_PER_TENSOR = 8


class BuildBudget:
    """Tensor operations the constructors of one build may still run."""

    def __init__(self, max_tensors: int):
        self.max_tensors = max_tensors
        self.left = OPERATIONS_PER_TENSOR * max_tensors + 1_000


class MetaOnly(Mode):
    """While a layer is constructed on meta: no real allocation, and a bounded number of
    tensor operations (see the module docstring). ``what`` and ``loc`` name the layer."""

    def __init__(self, budget: BuildBudget, what: str, loc: Location):
        super().__init__()
        self.budget = budget
        self.what = what
        self.loc = loc

    def dispatch(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        device = kwargs.get("device")
        if device is not None and torch.device(device).type != "meta":
            raise self.real(torch.device(device))
        self.budget.left -= 1
        if self.budget.left < 0:
            raise LimitError(
                f"{self.what} runs more tensor operations while it is built than "
                f"{self.budget.max_tensors:,} tensors would need",
                self.loc,
                "Its arguments make torch build too much; raise --max-tensors if it is meant.",
            )
        out = func(*args, **kwargs)
        for leaf in tree_leaves(out):
            if isinstance(leaf, torch.Tensor) and leaf.device.type != "meta":
                raise self.real(leaf.device)
        return out

    def real(self, device: torch.device) -> LayerError:
        return LayerError(
            f"{self.what} would allocate memory on {device} while it is inspected; "
            "inspection builds on the meta device only",
            self.loc,
            "An argument of this layer chooses a device; a spec cannot.",
        )
