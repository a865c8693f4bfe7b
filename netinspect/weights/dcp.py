"""A ``torch.distributed.checkpoint`` folder: what its ``.metadata`` says it holds.

``.metadata`` is a pickle, and ``FileSystemReader.read_metadata`` unpickles it with plain
``pickle.load``, which runs whatever a hostile file names. This reads it with an unpickler
that builds only the classes such metadata is made of (``torch.distributed.checkpoint``'s
metadata records, torch's dtypes and ``Size``, paths) and refuses any other name before
anything is built, then lists each tensor's name, shape and dtype. The data files are
never opened."""

from __future__ import annotations

import io
import math
import os
import pickle
from typing import Any

from netinspect.errors import Location, WeightsError
from netinspect.weights.safetensors import Tensor, WeightsFile

METADATA = ".metadata"
MAX_METADATA_BYTES = 256 * 2**20
_METADATA_MODULE = "torch.distributed.checkpoint.metadata"
_ALLOWED = {
    ("torch.distributed.checkpoint.filesystem", "_StorageInfo"),
    ("torch.serialization", "_get_layout"),
    ("torch", "Size"),
    ("pathlib", "PosixPath"),
    ("pathlib", "PurePosixPath"),
    ("pathlib", "WindowsPath"),
    ("pathlib", "PureWindowsPath"),
    ("collections", "OrderedDict"),
}


def is_checkpoint(path: str) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, METADATA))


class _Metadata(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        import torch

        dtype = module == "torch" and isinstance(getattr(torch, name, None), torch.dtype)
        if (module, name) in _ALLOWED or dtype or module == _METADATA_MODULE:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it names {module}.{name}")


def read(path: str) -> WeightsFile:
    import torch

    where = os.path.join(path, METADATA)
    try:
        size = os.path.getsize(where)
        if size > MAX_METADATA_BYTES:
            raise WeightsError(
                f"its {METADATA} is {size:,} bytes, more than {MAX_METADATA_BYTES:,}",
                Location(where),
            )
        with open(where, "rb") as f:
            metadata = _Metadata(io.BytesIO(f.read())).load()
    except OSError as exc:
        raise WeightsError(f"cannot read it: {exc.strerror or exc}", Location(where)) from None
    except pickle.UnpicklingError as exc:
        raise WeightsError(
            f"its {METADATA} holds more than checkpoint metadata ({exc}); it was refused "
            "before anything in it was built",
            Location(where),
        ) from None
    except Exception as exc:  # a broken pickle: the user's file
        raise WeightsError(f"its {METADATA} is not readable: {type(exc).__name__}: {exc}",
                           Location(where)) from None  # fmt: skip
    entries = getattr(metadata, "state_dict_metadata", None)
    if not isinstance(entries, dict):
        raise WeightsError(f"its {METADATA} is not torch.distributed.checkpoint metadata",
                           Location(where))  # fmt: skip
    tensors = []
    for name, entry in sorted(entries.items()):
        properties, shape = getattr(entry, "properties", None), getattr(entry, "size", None)
        dtype = getattr(properties, "dtype", None)
        if not isinstance(dtype, torch.dtype) or shape is None:
            continue  # a value that is not a tensor (bytes: an epoch, an RNG state)
        dims = tuple(int(n) for n in shape)
        nbytes = math.prod(dims) * dtype.itemsize
        tensors.append(Tensor(str(name), dims, str(dtype).removeprefix("torch."), nbytes))
    return WeightsFile(path, tuple(tensors))
