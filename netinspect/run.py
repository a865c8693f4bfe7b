"""Choosing what to run: the example input, the device and dtype, and whether memory allows it.

This is the core behind the commands' ``--input``, ``--input-dtype``, ``--device`` and
``--dtype`` options, kept out of the CLI so Python users get the same behaviour.
"""

from __future__ import annotations

import dataclasses
import os

from netinspect.analysis.dryrun import DryRunReport, dry_run, example_input
from netinspect.analysis.tensors import is_lazy
from netinspect.compiler import DEFAULT_MAX_MODULES, DTYPES, CompiledModel, compile_spec
from netinspect.errors import NetinspectError, OptionError
from netinspect.render.units import size
from netinspect.spec import InputSpec, Spec, parse_shape


class MemoryLimitError(NetinspectError):
    """Running for real would need more memory than the machine has free."""


def choose_input(spec: Spec, shape: str | None, dtype: str | None) -> InputSpec:
    """``--input`` wins over the spec's ``input:``; ``--input-dtype`` over both dtypes."""
    if shape is not None:
        base_dtype = spec.input.dtype if spec.input else "float32"
        return InputSpec(parse_shape(shape), dtype or base_dtype, spec.model.loc)
    if spec.input is None:
        raise OptionError(
            "no example input: the spec has no input: and no --input was given",
            spec.model.loc,
            "Give one, e.g. --input 2x4 (batch first), or add 'input: [2, 4]' to the spec.",
        )
    return dataclasses.replace(spec.input, dtype=dtype or spec.input.dtype)


def available_memory() -> int:
    """Bytes the kernel says a new allocation can use without swapping (MemAvailable)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def build(
    spec: Spec,
    device: str = "meta",
    dtype: str | None = None,
    max_modules: int = DEFAULT_MAX_MODULES,
) -> CompiledModel:
    """Compile on ``device``; on a real device, refuse before allocating more than is free."""
    if dtype is not None:
        spec = dataclasses.replace(spec, dtype=dtype)
    if device != "meta":
        planned = compile_spec(spec, "meta", max_modules).module
        tensors = (*planned.parameters(), *planned.buffers())
        # Lazy tensors have no size until the pass; the estimate covers the rest.
        needed = sum(t.numel() * t.element_size() for t in tensors if not is_lazy(t))
        free = available_memory()
        if needed > free:
            raise MemoryLimitError(
                f"building this model on {device} needs {size(needed)} for its parameters "
                f"and buffers, but only {size(free)} is free",
                spec.model.loc,
                "Inspect it on the meta device instead (the default), which allocates nothing.",
            )
    return compile_spec(spec, device, max_modules)


def forward(compiled: CompiledModel, chosen: InputSpec, device: str = "meta") -> DryRunReport:
    """The dry run of a compiled model on the chosen example input.

    Floating-point inputs take the parameters' dtype (a bfloat16 model gets bfloat16 data,
    as its layers require); integer inputs keep theirs.
    """
    dtype = DTYPES[chosen.dtype]
    if dtype.is_floating_point:
        dtype = DTYPES[compiled.spec.dtype]
    example = example_input(chosen.shape, dtype, device, compiled.module)
    return dry_run(compiled.module, example, compiled.name, compiled.origin)
