"""The console script's process: its garbage collector, and how it leaves.

A meta inspection allocates hundreds of thousands of long-lived objects (torch's import, a
module per layer) and next to no cyclic garbage, so the cycle collector only re-scans them,
again and again: a third of a 12,000-layer dry run. Raised thresholds were measured as an
alternative (``gc.set_threshold(100_000, 10, 10)``: 20 % slower than no collector on that
run; ``gc.freeze()`` after torch's import: slower still), so the collector is off while
nothing real is allocated, and back on for a command that allocates real tensors (``init``,
``dry-run --device cpu``), where a cycle holding a tensor must not live until exit.
Refcounting frees every tensor either way.

Leaving: tearing the interpreter down frees every object one at a time (0.6 s after a deep
dry run) and runs a last collection, with nothing left to do but flush what was printed,
so the command ends with ``os._exit`` after flushing. Not when user code was imported
(``--allow-import``): its ``atexit`` handlers and finalizers are its own, and run.

With ``NETINSPECT_NO_FAST_PATHS=1`` the collector runs as Python's default and the
interpreter exits normally.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import NoReturn

from netinspect._fast import enabled


def start() -> None:
    """At the console script's start: no cycle collector while nothing real is allocated."""
    if enabled():
        gc.disable()


def allocating() -> None:
    """A command is about to allocate real tensors: collect cycles as Python normally does."""
    gc.enable()


def leave(status: int, *, user_code: bool) -> NoReturn:
    """Flush what was printed and exit with ``status``: at once where nothing else must
    run, else through the interpreter's normal exit (``user_code``: some was imported)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # the reader went away, or the stream was shut
            status = status or 1
            _discard(stream)  # or the interpreter's exit would try again, and complain
    if enabled() and not user_code:
        os._exit(status)
    sys.exit(status)


def _discard(stream: object) -> None:
    """Point a stream that cannot be written at /dev/null, for what is left in its buffer."""
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]  # a text stream, or it is gone
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass
