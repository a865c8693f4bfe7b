"""The dtypes a spec or the command line may name: closed sets, so Typer lists the choices.

Kept apart from ``spec`` so the command line can offer them without importing the spec
language (and YAML) for ``--help`` or a usage error.
"""

from __future__ import annotations

from enum import Enum


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
