"""Python targets: ``package.module:callable`` in place of a spec, to inspect an existing model.

Only with ``--allow-import``: a spec never runs code, and naming a factory is running code.
The factory is called with no arguments under the requested device (meta by default), so an
existing model of any size is inspected without allocating it.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from netinspect.errors import Location, OptionError

if TYPE_CHECKING:  # torch is imported only when a target is built: is_target stays cheap
    from netinspect.build.compiler import CompiledModel

_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def import_object(text: str, search: Sequence[str] = ()) -> object:
    """The object ``module:attribute`` names (the attribute may be dotted), importing the module.

    The one place netinspect imports user code; every caller checks first that the user
    allowed it on the command line. The user's module is looked for AFTER the installed
    packages: the directories in ``search`` (``--import-path``; by default the working
    directory) are appended to ``sys.path``, never put first, so a file beside a spec
    named like a library (``safetensors.py``, ``yaml.py``) cannot take its place, neither
    for this import nor for any later one. Raises ImportError or AttributeError for the
    caller to report.
    """
    module_name, _, attribute = text.partition(":")
    for directory in search or (os.getcwd(),):
        path = os.path.abspath(directory)
        if path not in sys.path:
            sys.path.append(path)
    found: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


def searched(search: Sequence[str] = ()) -> str:
    """Where :func:`import_object` looks, for an error message."""
    where = ", ".join(os.path.abspath(d) for d in search or (os.getcwd(),))
    return f"looked in the installed packages, then {where}"


def is_target(text: str) -> bool:
    """``torch.nn:Transformer`` and the like, when no file has that name."""
    return bool(_TARGET.match(text)) and not os.path.exists(text)


def build_target(
    text: str,
    device: str = "meta",
    allow_import: bool = False,
    dtype: str | None = None,
    search: Sequence[str] = (),
) -> CompiledModel:
    """Import ``module:callable``, call it under ``device``, and return the model it builds."""
    import torch
    from torch import nn

    from netinspect.build.compiler import CompiledModel

    where = Location(text)
    if not allow_import:
        raise OptionError(
            f"{text!r} names Python code (module:callable); netinspect imports code only when "
            "you allow it",
            where,
            "Add --allow-import to inspect it.",
        )
    try:
        factory = import_object(text, search)
    except (ImportError, AttributeError) as exc:
        raise OptionError(f"cannot import {text}: {exc} ({searched(search)})", where) from None
    if not callable(factory):
        raise OptionError(f"{text} is not callable; give a class or a function", where)
    try:
        with torch.device(device):
            model = factory()
    except (Exception, SystemExit) as exc:  # the user's factory: its failure is theirs
        raise OptionError(f"calling {text}() failed: {type(exc).__name__}: {exc}", where) from None
    if not isinstance(model, nn.Module):
        raise OptionError(f"{text}() returned {type(model).__name__}, not a torch.nn.Module", where)
    if dtype is not None:
        from netinspect.dtypes import torch_dtype

        model.to(dtype=torch_dtype(dtype))
    return CompiledModel(text.partition(":")[2].rsplit(".", 1)[-1], model, None)
