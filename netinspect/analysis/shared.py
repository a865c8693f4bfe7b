"""Groups of parameter names that are one tensor, and how many parameters the ties save.

A group comes from a module used at several places (``shared:``), from a tie between
parameters of different modules (``ties:``), or from distinct Parameters viewing the same
storage. Names come from ``named_parameters(remove_duplicate=False)``, grouped by
:func:`~netinspect.analysis.tensors.tensor_key`.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from netinspect.analysis.tensors import alias_groups, is_lazy
from netinspect.dtypes import dtype_name


@dataclass(frozen=True)
class SharedGroup:
    names: tuple[str, ...]
    shape: tuple[int, ...] | None  # None: a lazy parameter without a shape yet
    numel: int | None
    dtype: str


@dataclass(frozen=True)
class SharedReport:
    model: str
    groups: tuple[SharedGroup, ...]
    saved: int  # parameters the ties save: a group of n names saves (n - 1) copies
    saved_bytes: int


def shared(module: nn.Module, model_name: str = "model") -> SharedReport:
    """Every group of two or more names for one tensor, in the order names first appear."""
    groups = []
    saved = saved_bytes = 0
    for names, p in alias_groups(module.named_parameters(remove_duplicate=False)):
        if len(names) < 2:
            continue
        lazy = is_lazy(p)
        groups.append(
            SharedGroup(
                names=tuple(names),
                shape=None if lazy else tuple(p.shape),
                numel=None if lazy else p.numel(),
                dtype=dtype_name(p.dtype),
            )
        )
        if not lazy:
            saved += (len(names) - 1) * p.numel()
            saved_bytes += (len(names) - 1) * p.numel() * p.element_size()
    return SharedReport(model_name, tuple(groups), saved, saved_bytes)
