"""The ``netinspect`` console script, and its Ctrl-C.

Importing the command (Typer, rich, then torch) takes a second, and a Ctrl-C in that time
must neither print a traceback nor be lost. This module imports nothing heavy and installs
the SIGINT handler first: it raises KeyboardInterrupt as Python's does, and also remembers
the interrupt, because some code in that second catches KeyboardInterrupt and goes on (a
Ctrl-C 0.5 s in was once silently ignored). The command checks :func:`interrupted` before
it writes a result, so an interrupt is never lost. The only window left is the
interpreter's own start (about 30 ms), where Python reports it itself.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # the C module (no stubs): in before `signal` builds its enums
from types import FrameType

_seen: list[bool] = []


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    _seen.append(True)
    raise KeyboardInterrupt


# At import, the earliest moment netinspect's code runs (the console script's first line
# imports this module): a Ctrl-C from here on is ours to report.
_signal.signal(_signal.SIGINT, _on_interrupt)

import os  # noqa: E402  # after the handler, on purpose (above)
import signal  # noqa: E402
import sys  # noqa: E402


def interrupted() -> bool:
    """Whether Ctrl-C was pressed since the command started, even if something swallowed it."""
    return bool(_seen)


def main() -> None:
    signal.signal(signal.SIGINT, _on_interrupt)
    try:
        from netinspect.cli import main as command
    except KeyboardInterrupt:
        try:
            sys.stderr.write("interrupted: any file being written was left as it was\n")
            sys.stderr.flush()
        finally:
            os._exit(130)
    command()
