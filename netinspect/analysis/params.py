"""Every named parameter of a model: shape, dtype, count, trainability, and its aliases."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from torch import nn

from netinspect.analysis.tensors import alias_groups, is_lazy, tensor_key
from netinspect.dtypes import dtype_name


@dataclass(frozen=True)
class ParamRow:
    name: str
    shape: tuple[int, ...] | None  # None: a lazy parameter before its first forward pass
    numel: int | None
    dtype: str
    trainable: bool
    shared_with: tuple[str, ...]  # the other names of the very same tensor


@dataclass(frozen=True)
class ParamsReport:
    """The rows and their totals. Totals count each distinct tensor once, so a tied weight
    listed under two names adds its elements once; lazy parameters add nothing yet."""

    model: str
    rows: tuple[ParamRow, ...]
    total: int
    trainable: int
    non_trainable: int
    bytes: int
    uninitialized: int  # how many distinct lazy parameters have no shape yet


def params(
    module: nn.Module, model_name: str = "model", pattern: str | None = None
) -> ParamsReport:
    """List ``named_parameters(remove_duplicate=False)``; ``pattern`` is a glob on names.

    With a pattern, the totals are those of the listed rows.
    """
    named = list(module.named_parameters(remove_duplicate=False))
    names_by_key = {tensor_key(p): names for names, p in alias_groups(named)}

    rows: list[ParamRow] = []
    counted: set[Hashable] = set()
    total = trainable = n_bytes = uninitialized = 0
    for name, p in named:
        if pattern is not None and not fnmatchcase(name, pattern):
            continue
        key = tensor_key(p)
        lazy = is_lazy(p)
        rows.append(
            ParamRow(
                name=name,
                shape=None if lazy else tuple(p.shape),
                numel=None if lazy else p.numel(),
                dtype=dtype_name(p.dtype),
                trainable=p.requires_grad,
                shared_with=tuple(n for n in names_by_key[key] if n != name),
            )
        )
        if key in counted:
            continue
        counted.add(key)
        if lazy:
            uninitialized += 1
            continue
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
        n_bytes += p.numel() * p.element_size()
    return ParamsReport(
        model=model_name,
        rows=tuple(rows),
        total=total,
        trainable=trainable,
        non_trainable=total - trainable,
        bytes=n_bytes,
        uninitialized=uninitialized,
    )
