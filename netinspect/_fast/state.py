"""The key of the leaf-call cache: all a plain leaf layer's forward depends on, on meta.

It relies on how ``nn.Module`` keeps its state (settings as plain attributes, tensors in
``_parameters`` and ``_buffers``, hooks and children in its own tables; see
``builder.modules``), and answers None for anything it cannot vouch for, which sends the
caller down the plain path.
"""

from __future__ import annotations

from collections.abc import Hashable

from torch import nn

from netinspect.builder.modules import BOOKKEEPING, immutable, plain_tensor


def layer_state(module: nn.Module, ignore: str = "") -> Hashable | None:
    """All a plain leaf layer's forward depends on besides its inputs, on meta: its class,
    its settings, and its tensors' shapes, strides and dtypes. None for anything else (a
    block, a lazy layer, a layer holding lists, modules or functions), whose behaviour
    cannot be read off this way. The attribute ``ignore`` is passed over (a dry run's own
    wrapper around ``forward``). Runs once per call of a dry run, so it is written flat."""
    if module._modules:
        return None
    parts: list[object] = [type(module)]
    for name, value in module.__dict__.items():
        if name in BOOKKEEPING or name == ignore:
            continue
        if name in ("_parameters", "_buffers"):
            facts: list[object] = []
            for key, t in value.items():
                if t is None:
                    facts.append((key, None))
                elif plain_tensor(t):
                    facts.append((key, t.shape, t.stride(), t.dtype, t.device, t.requires_grad))
                else:
                    return None  # lazy (Uninitialized*), or another subclass
            parts.append(tuple(facts))
        elif immutable(value):
            parts.append((name, value))
        else:
            return None
    return tuple(parts)
