"""netinspect: see inside a PyTorch model described in a YAML spec.

The Python API mirrors the command line::

    import netinspect
    spec = netinspect.load("configs/mlp.yaml")      # spec model (plain dataclasses)
    model = netinspect.compile(spec)                # nn.Sequential on the meta device
    rows = netinspect.analysis.params(model.module) # plain data

torch is imported only when a spec is loaded or compiled, so ``import netinspect`` is cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from netinspect.build.compiler import CompiledModel
    from netinspect.limits import Limits
    from netinspect.spec.model import Spec

__all__ = ["__version__", "compile", "load", "load_string"]


def _default_name(file: str) -> str:
    return "stdin" if file in ("-", "<stdin>") else Path(file).stem


def load_string(
    text: str, file: str = "<string>", name: str | None = None, limits: Limits | None = None
) -> Spec:
    """Parse and validate spec text; ``file`` is the name used in error locations."""
    from netinspect.limits import Limits
    from netinspect.spec.loader import load_text
    from netinspect.spec.parse import parse_spec

    limits = limits or Limits()
    node = load_text(text, file, limits.max_nodes, limits.max_depth)
    from netinspect.build.registry import registry  # torch: only once the YAML itself is sound

    return parse_spec(node, name or _default_name(file), registry(), limits.max_depth)


def load(path: str, limits: Limits | None = None) -> Spec:
    """Read and validate a spec file (``-`` reads standard input)."""
    from netinspect.limits import Limits
    from netinspect.spec.loader import read_text

    file, text = read_text(path, (limits or Limits()).max_spec_bytes)
    return load_string(text, file, _default_name(path), limits)


def compile(spec: Spec, device: str = "meta", limits: Limits | None = None) -> CompiledModel:
    """Build the spec's model; on ``meta`` (the default) no parameter memory is allocated."""
    from netinspect.build.compiler import compile_spec
    from netinspect.limits import Limits

    return compile_spec(spec, device, limits or Limits())
