"""Weights files read for what they hold, never for their data: a stage beside the spec
loader. ``safetensors.py`` reads a safetensors file's header, ``sharded.py`` a sharded
checkpoint's index and its shards' headers, ``pickle.py`` a ``torch.save`` file the safe
way (weights only, on meta), ``dcp.py`` a ``torch.distributed.checkpoint`` folder's
metadata with a restricted unpickler."""

from __future__ import annotations

from netinspect.weights import dcp, pickle, safetensors, sharded
from netinspect.weights.safetensors import WeightsFile


def is_weights(path: str) -> bool:
    """Whether ``path`` names a weights file (or a checkpoint folder) this can read."""
    return (
        safetensors.looks_like(path)
        or sharded.index_of(path) is not None
        or pickle.looks_like(path)
        or dcp.is_checkpoint(path)
    )


def read(path: str, max_header_bytes: int | None = None) -> WeightsFile:
    """The tensors of the weights at ``path``, from headers only."""
    cap = max_header_bytes or safetensors.MAX_HEADER_BYTES
    if dcp.is_checkpoint(path):
        return dcp.read(path)
    index = sharded.index_of(path)
    if index is not None:
        return sharded.read(index, cap)
    if not safetensors.looks_like(path) and pickle.looks_like(path):
        return pickle.read(path)
    return safetensors.read(path, cap)
