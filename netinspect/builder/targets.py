"""Python targets: ``package.module:callable`` in place of a spec, to inspect an existing model.

The one place netinspect imports user code. Whether it may (the command line's
``--allow-import``) is the API's to decide; a spec never names code. The factory is called
with no arguments under the requested device (meta by default), so an existing model of any
size is inspected without allocating it.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from netinspect.errors import Location, OptionError
from netinspect.spec.model import PYTHON_REFERENCE

if TYPE_CHECKING:  # torch is imported only when a target is built: is_target stays cheap
    from torch import nn


def import_object(text: str, search: Sequence[str] = ()) -> object:
    """The object ``module:attribute`` names (the attribute may be dotted), importing the module.

    The user's module is looked for AFTER the installed packages: the directories in
    ``search`` (``--import-path``; by default the working directory) are appended to
    ``sys.path``, never put first, so a file beside a spec named like a library
    (``safetensors.py``, ``yaml.py``) cannot take its place, neither for this import nor for
    any later one. Raises ImportError (also when the module's own code raised anything
    else: a broken third-party install is the user's environment, not a netinspect bug) or
    AttributeError, for the caller to report.
    """
    module_name, _, attribute = text.partition(":")
    _imported.append(text)  # before the import: a failing module may have run some code
    for directory in search or (os.getcwd(),):
        path = os.path.abspath(directory)
        if path not in sys.path:
            sys.path.append(path)
    try:
        found: object = importlib.import_module(module_name)
    except ImportError:
        raise
    except (Exception, SystemExit) as exc:  # the module's own code failed: the user's to fix
        raise ImportError(f"importing {module_name} raised {type(exc).__name__}: {exc}") from exc
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


_imported: list[str] = []


def imported() -> bool:
    """Whether user code was imported (or an import tried) in this process."""
    return bool(_imported)


def searched(search: Sequence[str] = ()) -> str:
    """Where :func:`import_object` looks, for an error message."""
    where = ", ".join(os.path.abspath(d) for d in search or (os.getcwd(),))
    return f"looked in the installed packages, then {where}"


def is_target(text: str) -> bool:
    """``torch.nn:Transformer`` and the like, when no file has that name."""
    return bool(PYTHON_REFERENCE.match(text)) and not os.path.exists(text)


def build_target(text: str, device: str, search: Sequence[str] = ()) -> nn.Module:
    """Import ``module:callable``, call it under ``device``, and return the model it builds."""
    import torch
    from torch import nn

    where = Location(text)
    try:
        factory = import_object(text, search)
    except (ImportError, AttributeError) as exc:
        raise OptionError(f"cannot import {text}: {exc} ({searched(search)})", where) from exc
    if not callable(factory):
        raise OptionError(f"{text} is not callable; give a class or a function", where)
    try:
        with torch.device(device):
            model = factory()
    except (Exception, SystemExit) as exc:  # the user's factory: its failure is theirs
        raise OptionError(f"calling {text}() failed: {type(exc).__name__}: {exc}", where) from exc
    if not isinstance(model, nn.Module):
        raise OptionError(f"{text}() returned {type(model).__name__}, not a torch.nn.Module", where)
    return model
