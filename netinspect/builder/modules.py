"""Facts about a built module that more than one stage asks: is it a plain leaf layer?

A plain leaf holds settings (numbers, text, dtypes and tuples of them), its parameters and
buffers (plain tensors), and what every ``nn.Module`` keeps for itself (hook tables). Such
a layer's behaviour is read off those alone: the leaf-call cache keys on them, the copier
copies them, and ``init`` may give it memory without its default init. Anything else (a
block, a lazy layer, an RNN's list of its weights) is built and run the plain way.
"""

from __future__ import annotations

import torch
from torch import nn

# Values two layers may share: they cannot be changed in place.
_IMMUTABLE = (bool, int, float, complex, str, bytes, type(None), torch.dtype, torch.device)
#: What every Module keeps for itself (hook tables and the like), as opposed to its settings.
BOOKKEEPING = frozenset(nn.Module().__dict__) - {"training", "_parameters", "_buffers"}


def immutable(value: object) -> bool:
    if isinstance(value, tuple):
        return all(immutable(v) for v in value)
    return isinstance(value, _IMMUTABLE)


def plain_tensor(t: object) -> bool:
    """A plain Parameter or Tensor: not lazy (Uninitialized*), not another subclass."""
    return type(t) is nn.Parameter or type(t) is torch.Tensor


def plain_leaf(module: nn.Module) -> bool:
    """Settings, plain parameters and buffers, and bookkeeping only; no children."""
    if module._modules:
        return False
    for name, value in module.__dict__.items():
        if name in BOOKKEEPING:
            continue
        if name in ("_parameters", "_buffers"):
            if not all(t is None or plain_tensor(t) for t in value.values()):
                return False
        elif not immutable(value):
            return False
    return True
