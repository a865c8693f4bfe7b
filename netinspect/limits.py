"""Safety limits on what a spec may expand to, in one place. No torch here.

A spec may come from a pull request nobody has read yet: these bound the work and memory it
can ask for, so every input is answered within seconds. Each one can be raised from the
command line (``--max-nodes``, ``--max-depth``, ``--max-modules``, ``--max-memory``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_nodes: int = 100_000  # YAML nodes after alias expansion; a real spec has hundreds
    max_depth: int = 100  # YAML nesting levels; a real spec nests a handful
    max_modules: int = 1_000_000  # modules the model tree expands to
    max_memory: int | None = None  # bytes a real (cpu) build may take; None: what is free
