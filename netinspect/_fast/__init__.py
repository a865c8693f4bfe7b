"""Fast paths: the speed-ups that lean on the internals of torch or CPython, in one place.

Each detects the feature it relies on (never a version number) and falls back to the plain
way when that is absent; ``NETINSPECT_NO_FAST_PATHS=1`` turns every one of them off, and
the tests run every command both ways and require the same output.

- ``dynamo``: a meta pass without importing ``torch._dynamo`` (0.85 s). Relies on torch
  caching its "do not compile" wrapper on the function as ``__dynamo_disable``; detected by
  calling a probe wrapper; without it torch imports dynamo as before.
- ``copier``: repeated layers built as copies of the first (12,000 layers: 1.8 s to 0.17 s).
  Relies on ``nn.Module`` keeping its state in ``__dict__`` and known tables; detected per
  module (``builder.modules.plain_leaf``) and once on a probe layer; otherwise constructed.
- ``leafcalls``: in a meta dry run, identical leaf calls answered from memory, and FLOPs
  counted around leaf calls only (a deep dry run: 7.4 s to 1.7 s with the rest). Relies on
  a plain leaf's result depending on its state alone (``state``), and on the module hook
  tables; anything it cannot vouch for runs, and is counted, the plain way.
- ``opcache``: in a memory plan, identical operations on meta answered from memory (a
  1.2B-parameter transformer's step: 5.0 s to 4.0 s a process, with the rest). Relies on a
  meta kernel's result depending only on its operands' layouts and its other arguments;
  anything that aliases, or is not on meta, runs.
- ``process``: the console script's garbage-collector thresholds and its exit without
  interpreter teardown (0.6 s after a deep dry run); never the latter after user code was
  imported, whose ``atexit`` handlers must run.
- the plain-text layout of tables for pipes (``render.sheet``), which is rich's own output
  written without rich's per-cell measuring; with the switch, rich draws them.
"""

from __future__ import annotations

import os

SWITCH = "NETINSPECT_NO_FAST_PATHS"


def enabled() -> bool:
    """Whether fast paths may be taken: yes unless ``NETINSPECT_NO_FAST_PATHS`` is set to
    anything but ``0`` or nothing. Read at each use, so a test can flip it."""
    return os.environ.get(SWITCH, "") in ("", "0")
