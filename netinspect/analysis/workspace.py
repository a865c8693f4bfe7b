"""Scratch memory a CUDA kernel allocates for itself while it runs: a reduction's staging
buffer.

A sum over a dimension that is not the fastest-moving one (every bias gradient sums the
batch dimension away: ``grad.sum(0)``) is split by ATen across thread blocks, which meet
in a global staging buffer allocated for the call and freed after it. ATen sizes it in
``setReduceConfig`` and ``ReduceConfig::global_memory_size``
(``aten/src/ATen/native/cuda/Reduce.cuh``); :func:`reduction_workspace` follows the same
steps, so the buffer is what the GPU allocates: 16 MiB for the bias gradient of a
(1024, 2048) output, 64 MiB for (4096, 2048), none for (512, 4096).

The GPU's shape enters through its multiprocessor count and threads per multiprocessor
(:class:`Gpu`); the default is an H100 (an H200 has the same).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

aten = torch.ops.aten

MAX_THREADS = 512  # ReduceConfig::MAX_NUM_THREADS
WARP = 32
MIN_VALUES_PER_THREAD, MAX_VALUES_PER_THREAD = 16, 256


@dataclass(frozen=True)
class Gpu:
    multiprocessors: int = 132
    threads_per_multiprocessor: int = 2048


H100 = Gpu()

_REDUCTIONS = {
    op
    for name, overload in (("sum", "dim_IntList"), ("mean", "dim"))
    if (op := getattr(getattr(aten, name, None), overload, None)) is not None
}


def reduction_workspace(func: Any, args: tuple[Any, ...], out: Any, gpu: Gpu = H100) -> int:
    """Bytes of the staging buffer CUDA allocates for this call, if it is a reduction
    over a dimension other than the fastest-moving one; 0 otherwise."""
    if func not in _REDUCTIONS or not args or not isinstance(args[0], torch.Tensor):
        return 0
    t: torch.Tensor = args[0]
    dims = args[1] if len(args) > 1 and args[1] else list(range(t.dim()))
    reduced = {d % t.dim() for d in dims} if t.dim() else set()
    sizes = list(t.shape)
    inputs_per_output = math.prod(sizes[d] for d in reduced)
    num_outputs = math.prod(n for d, n in enumerate(sizes) if d not in reduced)
    if inputs_per_output <= 1 or num_outputs < 1:
        return 0
    fastest = min((d for d in range(t.dim()) if sizes[d] > 1), key=t.stride, default=0)
    if fastest in reduced or t.stride(fastest) != 1:
        return 0  # lanes reduce within a block: a few bytes per output block at most
    accumulator = 8 if t.dtype in (torch.float64, torch.int64) or not t.is_floating_point() else 4
    return _staging_bytes(num_outputs, inputs_per_output, accumulator, gpu)


def _staging_bytes(num_outputs: int, inputs_per_output: int, accumulator: int, gpu: Gpu) -> int:
    """setReduceConfig for a reduction whose outputs lie along the fastest dimension."""
    vec = 4
    while num_outputs % vec:
        vec //= 2
    dim0, dim1 = num_outputs // vec, inputs_per_output
    threads = MAX_THREADS // vec
    dim0_pow2 = _last_pow2(dim0) if dim0 < threads else threads
    dim1_pow2 = _last_pow2(dim1) if dim1 < threads else threads
    width = min(dim0_pow2, WARP)
    height = min(dim1_pow2, threads // width)
    width = min(dim0_pow2, threads // height)
    step_output = width  # lanes split the outputs
    step_input = 1
    values = -(-inputs_per_output // step_input)
    if not (values >= height * 16 or values >= MAX_VALUES_PER_THREAD):
        return 0  # each warp takes its own outputs: no split across blocks
    step_input *= height
    values = -(-inputs_per_output // step_input)
    grid = -(-(num_outputs // vec) // step_output)
    target = gpu.multiprocessors * (gpu.threads_per_multiprocessor // (width * height))
    if values < MAX_VALUES_PER_THREAD or grid > target:
        return 0
    ctas = max(
        min(-(-target // grid), -(-values // MIN_VALUES_PER_THREAD)),
        -(-values // MAX_VALUES_PER_THREAD),
    )
    if ctas <= 1:
        return 0
    return accumulator * num_outputs * ctas * width * vec


def _last_pow2(n: int) -> int:
    """The largest power of two not above ``n`` (at least 1)."""
    return max(1, 1 << (max(n, 1).bit_length() - 1))
