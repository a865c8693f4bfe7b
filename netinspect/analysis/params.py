"""Every named parameter of a model: shape, dtype, count, trainability, and its aliases."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

import torch
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
    share: float | None = None  # its part of the total, 0 to 1; None when counted elsewhere
    buffer: bool = False  # a buffer (running statistics), listed with --buffers
    nbytes: int | None = None  # its elements' bytes (None while lazy)


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
    buffers: int = 0  # elements of the distinct buffers (BatchNorm's running statistics)
    buffer_bytes: int = 0


def params(
    module: nn.Module,
    model_name: str = "model",
    pattern: str | None = None,
    *,
    with_buffers: bool = False,
) -> ParamsReport:
    """List ``named_parameters(remove_duplicate=False)`` (and, ``with_buffers``, the buffers
    after them); ``pattern`` is a glob on names. Each row's share is of the total
    parameters. With a pattern, the totals are those of the listed rows.
    """
    named = list(module.named_parameters(remove_duplicate=False))
    names_by_key = {tensor_key(p): names for names, p in alias_groups(named)}

    rows: list[ParamRow] = []
    counted: set[Hashable] = set()
    counting: set[int] = set()  # the rows that count their tensor in the totals
    total = trainable = n_bytes = uninitialized = 0
    for name, p in named:
        if pattern is not None and not fnmatchcase(name, pattern):
            continue
        key = tensor_key(p)
        lazy = is_lazy(p)
        others = tuple(n for n in names_by_key[key] if n != name)
        rows.append(_row(name, p, trainable=p.requires_grad, shared_with=others))
        if key in counted:
            continue
        counted.add(key)
        counting.add(len(rows) - 1)
        if lazy:
            uninitialized += 1
            continue
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
        n_bytes += p.numel() * p.element_size()
    rows = [  # a tensor's share goes to the row that counted it in the totals
        replace(r, share=r.numel / total if total else 0.0)
        if i in counting and r.numel is not None
        else r
        for i, r in enumerate(rows)
    ]
    n_buffers = buffer_bytes = 0
    seen: set[Hashable] = set()
    for name, b in module.named_buffers(remove_duplicate=False):
        if pattern is not None and not fnmatchcase(name, pattern):
            continue
        lazy = is_lazy(b)
        if with_buffers:
            rows.append(_row(name, b, trainable=False, buffer=True))
        key = tensor_key(b)
        if key in seen or lazy:
            continue
        seen.add(key)
        n_buffers += b.numel()
        buffer_bytes += b.numel() * b.element_size()
    return ParamsReport(
        model=model_name,
        rows=tuple(rows),
        total=total,
        trainable=trainable,
        non_trainable=total - trainable,
        bytes=n_bytes,
        uninitialized=uninitialized,
        buffers=n_buffers,
        buffer_bytes=buffer_bytes,
    )


def _row(
    name: str,
    tensor: torch.Tensor,
    *,
    trainable: bool,
    shared_with: tuple[str, ...] = (),
    buffer: bool = False,
) -> ParamRow:
    lazy = is_lazy(tensor)
    return ParamRow(
        name=name,
        shape=None if lazy else tuple(tensor.shape),
        numel=None if lazy else tensor.numel(),
        dtype=dtype_name(tensor.dtype),
        trainable=trainable,
        shared_with=shared_with,
        buffer=buffer,
        nbytes=None if lazy else tensor.numel() * tensor.element_size(),
    )
