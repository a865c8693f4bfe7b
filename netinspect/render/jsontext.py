"""JSON text for people and scripts at once: indented, with one table row per line.

``json.dumps(indent=2)`` puts every number of every shape on its own line and runs in pure
Python; a 12,000-row dry run took 0.13 s to print and 150,000 lines to scroll. Here a list
of scalars, and a record whose values are scalars or such lists, stay on one line (written
by the C encoder); anything holding records is indented, two spaces a level. The document
is the same JSON either way. Imports nothing heavy: errors are printed with it too.
"""

from __future__ import annotations

import json
import math
from typing import Any

# allow_nan=False: NaN and Infinity are not JSON (RFC 8259), whatever Python's default says.
_ONE_LINE = json.JSONEncoder(separators=(", ", ": "), allow_nan=False).encode


def dumps(document: Any) -> str:
    """``document`` as strict JSON text; the top level is always indented. A number that
    is not finite (a statistic of a user's scheme that wrote NaN) becomes null."""
    try:
        return _encode(document, 0, top=True)
    except ValueError:  # only then pay for a walk over the document
        return _encode(_finite(document), 0, top=True)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


_CONTAINERS = (dict, list, tuple)


def _scalar(value: Any) -> bool:
    return not isinstance(value, _CONTAINERS)


def _flat(value: Any) -> bool:
    """A scalar, a list of scalars, or a record of those: one line. Written as loops: it
    runs once per row of a 12,000-row table."""
    if isinstance(value, dict):
        for v in value.values():
            if isinstance(v, (list, tuple)):
                for item in v:
                    if isinstance(item, _CONTAINERS):
                        return False
            elif isinstance(v, dict):
                return False
        return True
    if isinstance(value, (list, tuple)):
        return not any(isinstance(item, _CONTAINERS) for item in value)
    return True


def _encode(value: Any, level: int, top: bool = False) -> str:
    if _scalar(value) or not value or (not top and _flat(value)):
        return _ONE_LINE(value)
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(value, dict):
        items = [f"{inner}{_ONE_LINE(str(k))}: {_encode(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    items = [f"{inner}{_encode(v, level + 1)}" for v in value]
    return "[\n" + ",\n".join(items) + f"\n{pad}]"
