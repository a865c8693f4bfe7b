"""Facts about single tensors shared by the analyses: identity and laziness."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TypeVar

import torch
from torch import nn


def is_lazy(tensor: torch.Tensor) -> bool:
    """An uninitialized parameter or buffer of a lazy layer: no shape until a forward pass."""
    return bool(nn.parameter.is_lazy(tensor))


def tensor_key(tensor: torch.Tensor) -> Hashable:
    """Equal for two tensors that are the same memory: the same object, or distinct
    Parameters viewing the same storage at the same offset, shape and strides.

    Meta, lazy and empty tensors have no storage to compare, so only identity counts.
    """
    if is_lazy(tensor) or tensor.device.type == "meta" or tensor.numel() == 0:
        return ("id", id(tensor))
    storage = tensor.untyped_storage().data_ptr()
    return ("storage", storage, tensor.storage_offset(), tuple(tensor.shape), tensor.stride())


T = TypeVar("T", bound=torch.Tensor)


def alias_groups(named: Iterable[tuple[str, T]]) -> list[tuple[list[str], T]]:
    """Names grouped by the tensor they are (see :func:`tensor_key`), in first-seen order."""
    groups: dict[Hashable, tuple[list[str], T]] = {}
    for name, tensor in named:
        groups.setdefault(tensor_key(tensor), ([], tensor))[0].append(name)
    return list(groups.values())


def distinct_numel(tensors: Iterable[torch.Tensor]) -> int:
    """Elements of the distinct initialized tensors among ``tensors``, each counted once."""
    seen: dict[Hashable, int] = {}
    for t in tensors:
        if not is_lazy(t):
            seen.setdefault(tensor_key(t), t.numel())
    return sum(seen.values())
