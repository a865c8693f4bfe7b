"""Where ``init``'s random values come from: a layout any split of the work reproduces.

torch's CPU generator is one sequential stream: a value drawn from it depends on everything
drawn before, so no shard of a checkpoint, and no rank of a distributed run, can make its
part of a tensor alone. Here every value depends only on (seed, the tensor's first name,
its place in the tensor), not on what else was made or in what order:

- A parameter is cut, in flat row-major order, into chunks of ``CHUNK`` elements (the last
  one shorter). Chunk k is filled by its own ``torch.Generator`` seeded with
  ``stream_seed(seed, name, k)``: 63 bits of BLAKE2b of ``"{seed}\\0{name}\\0{k}"``.
- A scheme's arithmetic on the shape (the fans, the gain, the bound or std) uses the whole
  tensor's shape, and then its fill runs chunk by chunk. A tensor of one chunk is therefore
  exactly ``torch.nn.init.<scheme>_(t, generator=that chunk's generator)``.
- A range of a tensor (a shard's rows) is made chunk by chunk; a chunk the range cuts is
  made whole and sliced, so any split gives the same bits.
- Schemes that need the whole tensor at once (``orthogonal``, ``sparse``, ``eye``,
  ``dirac``, a user's function) take one generator for the tensor, seeded with
  ``stream_seed(seed, name, "whole")``; a layer's own default init runs under
  ``stream_seed(seed, path, "default")``.

The layout has a version, written in every file ``init`` saves (``RNG_VERSION``): values
for a seed changed once, when it came in, and change again only with a new version.
Seeding a generator costs about 9 µs, nothing beside the 4 MiB of values it makes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

RNG_VERSION = "netinspect-chunk-v1"
CHUNK = 1 << 20  # elements a generator fills: 4 MiB of float32

Fill = Callable[[torch.Tensor, torch.Generator], object]


def stream_seed(seed: int, name: str, index: int | str) -> int:
    """The seed of one chunk's (or one tensor's, one layer's) generator."""
    digest = hashlib.blake2b(f"{seed}\0{name}\0{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)


def generator(seed: int, name: str, index: int | str) -> torch.Generator:
    return torch.Generator().manual_seed(stream_seed(seed, name, index))


@dataclass(frozen=True)
class Elementwise:
    """A fill whose chunks can be made alone: ``fill(chunk, generator)``, with whatever it
    derives from the shape already derived from the whole tensor's."""

    fill: Fill


_FAN_FREE = ("normal_", "uniform_", "trunc_normal_", "constant_", "zeros_", "ones_")


def elementwise(torch_name: str, kwargs: dict[str, Any], shape: torch.Size) -> Elementwise | None:
    """How ``torch.nn.init.<torch_name>(t, **kwargs)`` fills a tensor of ``shape`` chunk by
    chunk; None for a scheme that needs the whole tensor. The arithmetic is torch's own
    (``torch/nn/init.py``), on a meta tensor of the whole shape."""
    func = getattr(nn.init, torch_name)
    if torch_name in _FAN_FREE:
        if torch_name in ("constant_", "zeros_", "ones_"):  # no randomness at all
            return Elementwise(lambda t, g: func(t, **kwargs))
        return Elementwise(lambda t, g: func(t, **kwargs, generator=g))
    whole = torch.empty(shape, device="meta")
    if torch_name in ("xavier_uniform_", "xavier_normal_"):
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(whole)
        std = kwargs.get("gain", 1.0) * math.sqrt(2.0 / float(fan_in + fan_out))
    elif torch_name in ("kaiming_uniform_", "kaiming_normal_"):
        if 0 in shape:
            return Elementwise(lambda t, g: None)  # torch leaves an empty tensor be
        fan = nn.init._calculate_correct_fan(whole, kwargs.get("mode", "fan_in"))
        gain = nn.init.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"), kwargs.get("a", 0))
        std = gain / math.sqrt(fan)
    else:
        return None
    if torch_name.endswith("uniform_"):
        bound = math.sqrt(3.0) * std
        return Elementwise(lambda t, g: t.uniform_(-bound, bound, generator=g))
    return Elementwise(lambda t, g: t.normal_(0.0, std, generator=g))


def chunks(start: int, stop: int, total: int) -> Iterator[tuple[int, int, int]]:
    """The chunks elements ``[start, stop)`` of a tensor of ``total`` elements touch: each
    as (k, where it starts in the tensor, how many elements it has)."""
    for k in range(start // CHUNK, (stop + CHUNK - 1) // CHUNK):
        first = k * CHUNK
        yield k, first, min(CHUNK, total - first)


@torch.no_grad()
def fill_range(
    out: torch.Tensor, how: Elementwise, *, seed: int, name: str, start: int, total: int
) -> None:
    """Fill ``out`` (contiguous, flat order) with elements ``[start, start + out.numel())``
    of the tensor ``name`` of ``total`` elements."""
    flat = out.view(-1)
    stop = start + flat.numel()
    for k, first, size in chunks(start, stop, total):
        low, high = max(first, start), min(first + size, stop)
        target = flat[low - start : high - start]
        if low == first and high == first + size:  # the whole chunk: made in place
            how.fill(target, generator(seed, name, k))
        else:  # cut by the range: made whole, the part inside kept
            whole = torch.empty(size, dtype=out.dtype)
            how.fill(whole, generator(seed, name, k))
            target.copy_(whole[low - first : high - first])
