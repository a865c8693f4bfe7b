"""Keep torch from importing ``torch._dynamo`` (0.85 s) the first time a meta kernel runs.

Many of torch's meta kernels are Python references (``torch._refs``), each wrapped by
``torch._compile._disable_dynamo``. That wrapper imports ``torch._dynamo`` on its first call
only to mark the function "never compile", and caches the marked function on it as
``__dynamo_disable``. Outside ``torch.compile`` a marked function behaves exactly as the
function itself, so a process that never compiles may fill that cache with the function.

The ``netinspect`` command does so once before it builds a model, in 15 ms: any dry run on
meta is then 0.85 s faster, and so is building a model with an ``Embedding`` (whose
initialization runs on meta). Library users are left alone: only the CLI calls this.

The feature is detected, not assumed from a version: a probe function is wrapped, marked,
and called, and only if that call did not import dynamo are torch's functions marked. If
torch changes how this works (upstream means to), torch imports dynamo as before, which is
only slower. ``NETINSPECT_NO_FAST_PATHS=1`` skips it.
"""

from __future__ import annotations

import gc
import sys
import types
from typing import Any

from netinspect._fast import enabled


def _probe() -> None:
    """A function to wrap, to learn what torch's wrapper looks like."""


def _marking_works(wrapper: Any) -> bool:
    """Whether a wrapped function marked as already disabled runs without importing dynamo."""
    _probe.__dynamo_disable = _probe  # type: ignore[attr-defined]  # torch's cache attribute
    try:
        wrapper()
    finally:
        del _probe.__dynamo_disable  # type: ignore[attr-defined]
    return "torch._dynamo" not in sys.modules


_done: set[str] = set()  # once a process: a command over 100 specs loads 100 of them


def skip_dynamo_import() -> int:
    """Mark torch's dynamo-disabled functions as already marked; return how many were."""
    if _done or "torch._dynamo" in sys.modules or not enabled():
        return 0  # done, already paid for, or fast paths are off
    _done.add("scanned")
    # Their kernels (and wrappers) are created on import: import them before looking. So
    # is the wrapper of a dispatch mode's __torch_dispatch__: netinspect's modes share one.
    import torch._compile
    import torch._decomp
    import torch._meta_registrations
    import torch.utils.flop_counter

    import netinspect.dispatch  # noqa: F401

    wrapper = torch._compile._disable_dynamo(_probe)
    code = getattr(wrapper, "__code__", None)
    if code is None or "fn" not in code.co_freevars or not _marking_works(wrapper):
        return 0
    cell = code.co_freevars.index("fn")
    marked = 0
    for obj in gc.get_referrers(code):  # every function made from that code: 15 ms
        if type(obj) is not types.FunctionType or not obj.__closure__:
            continue
        fn = obj.__closure__[cell].cell_contents
        if fn is not _probe and callable(fn) and getattr(fn, "__dynamo_disable", None) is None:
            try:
                fn.__dynamo_disable = fn
            except (AttributeError, TypeError):  # a builtin or a slotted callable: leave it
                continue
            marked += 1
    return marked
