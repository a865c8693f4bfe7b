"""Safety limits on what a spec may read, expand to and allocate, in one place. No torch.

A spec may come from a pull request nobody has read yet: these bound the work and memory it
can ask for, so every inspection within them answers in seconds. Each one can be raised
from the command line and from the environment (see the README's Safety and limits).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_spec_bytes: int = 1 << 20  # bytes read from a spec file; a real spec has kilobytes
    max_nodes: int = 100_000  # YAML nodes after alias expansion; a real spec has hundreds
    max_depth: int = 100  # nesting levels, of the YAML and of the model through its blocks
    max_modules: int = 50_000  # modules torch builds, every place of a shared one counted
    max_tensors: int = 20_000  # parameters and buffers, likewise (LSTM builds in O(n²))
    max_memory: int | None = None  # bytes a real (cpu) run may take; None: what is free


#: What every entry point uses unless told otherwise: the API, the builder, the options.
DEFAULT_LIMITS = Limits()
