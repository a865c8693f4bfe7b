"""The dtypes a spec or the command line may name, and the torch dtype each name is.

The names are closed sets, so Typer lists the choices; they are kept apart from ``spec`` so
the command line can offer them without importing the spec language (and YAML) for
``--help`` or a usage error. torch is imported only when a name is turned into a dtype.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


class ParamDtype(str, Enum):
    """Parameter dtypes a spec (dtype:) or --dtype may choose."""

    float32 = "float32"
    float64 = "float64"
    float16 = "float16"
    bfloat16 = "bfloat16"


class InputDtype(str, Enum):
    """Example-input dtypes: floats for data, integers for indices (Embedding)."""

    float32 = "float32"
    float64 = "float64"
    float16 = "float16"
    bfloat16 = "bfloat16"
    int64 = "int64"
    int32 = "int32"
    int16 = "int16"
    int8 = "int8"
    uint8 = "uint8"
    bool = "bool"


def torch_dtype(name: str) -> torch.dtype:
    """``"float32"`` to ``torch.float32``: every name of :class:`InputDtype` (which holds
    the parameter dtypes too)."""
    import torch

    InputDtype(name)  # a ValueError for a name outside the sets above
    dtype = getattr(torch, name)
    assert isinstance(dtype, torch.dtype)
    return dtype


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float32`` to ``"float32"``: how a spec writes it."""
    return str(dtype).removeprefix("torch.")
