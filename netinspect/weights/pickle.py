"""A PyTorch checkpoint (``torch.save``: ``.pt``, ``.pth``, ``.bin``), read the safe way.

``torch.load(path, weights_only=True, map_location="meta", mmap=...)``: the restricted
unpickler that builds tensors and plain containers only and refuses anything else (a
class, a function: code), every tensor on meta, so no data is read; a zip archive is
memory-mapped. ``weights_only=False`` is never used. What it holds must be a state dict
(names to tensors), or one under ``"state_dict"`` or ``"model"`` (as training scripts and
Lightning save them); anything else is refused with what it is. Tensors that share a
storage, offset, shape and strides are one tensor under several names (a tie).
"""

from __future__ import annotations

import os
import re
import zipfile
from typing import Any

from netinspect.errors import Location, WeightsError
from netinspect.weights.safetensors import Tensor, WeightsFile

EXTENSIONS = (".pt", ".pth", ".bin", ".ckpt")
# torch.save's legacy format opens with a pickled magic number (protocol 2, a long).
_LEGACY = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"


def looks_like(path: str) -> bool:
    """A torch.save file: a zip archive holding a ``data.pkl``, the legacy format's magic
    number, or one of the usual extensions."""
    if not os.path.isfile(path):
        return False
    if path.endswith(EXTENSIONS):
        return True
    return _is_archive(path) or _head(path, len(_LEGACY)) == _LEGACY


def read(path: str) -> WeightsFile:
    import pickle

    import torch

    archive = _is_archive(path)
    try:
        loaded = torch.load(path, weights_only=True, map_location="meta", mmap=archive)
    except pickle.UnpicklingError as exc:
        named = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f": it names {named.group(1)}" if named else ""
        raise WeightsError(
            "it holds objects other than tensors and plain containers (classes or code), "
            f"which netinspect does not load; nothing of it was run{what}",
            Location(path),
        ) from None
    except Exception as exc:  # not a torch file, or a broken one: the user's input
        raise WeightsError(
            f"not a readable torch.save file: {type(exc).__name__}: {str(exc)[:200]}",
            Location(path),
        ) from None
    state = _state_dict(loaded, path)
    tensors: list[Tensor] = []
    aliases: dict[str, str] = {}
    seen: dict[tuple[int, int, tuple[int, ...], tuple[int, ...]], str] = {}
    for name, t in state.items():
        key = (t.untyped_storage()._cdata, t.storage_offset(), tuple(t.shape), t.stride())
        if key in seen:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        dtype = str(t.dtype).removeprefix("torch.")
        tensors.append(Tensor(name, tuple(t.shape), dtype, t.numel() * t.element_size()))
    return WeightsFile(path, tuple(tensors), aliases)


def _state_dict(loaded: Any, path: str) -> dict[str, Any]:
    import torch

    def plain(value: Any) -> bool:
        return (
            isinstance(value, dict)
            and bool(value)
            and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())
        )

    if plain(loaded):
        return dict(loaded)
    if isinstance(loaded, dict):
        for key in ("state_dict", "model"):
            if plain(loaded.get(key)):
                return dict(loaded[key])
        keys = ", ".join(repr(k) for k in list(loaded)[:5])
        what = f"a dict of {keys}" if loaded else "an empty dict"
    else:
        what = f"a {type(loaded).__name__}"
    raise WeightsError(
        f"it holds {what}, not a state dict (names to tensors, or one under 'state_dict' or "
        "'model')",
        Location(path),
    )


def _is_archive(path: str) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.endswith("data.pkl") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _head(path: str, n: int) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(n)
    except OSError:
        return b""
