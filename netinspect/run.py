"""Choosing what to run: the example input, the device and dtype, and whether memory allows it.

This is the core behind the commands' ``--input``, ``--input-dtype``, ``--device`` and
``--dtype`` options, kept out of the CLI so Python users get the same behaviour.
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Callable

import torch
from torch import nn

from netinspect.analysis.dryrun import DryRunReport, dry_run, example_input
from netinspect.analysis.init import (
    InitReport,
    Rule,
    initialize,
    overwritten_layers,
    resolve_scheme,
    temporaries,
)
from netinspect.analysis.memory import MemoryPlan, plan_forward, tensor_bytes
from netinspect.analysis.tensors import alias_groups, is_lazy
from netinspect.build.compiler import DEFAULT_LIMITS, CompiledModel, compile_spec
from netinspect.cli.options import parse_shape
from netinspect.dtypes import torch_dtype
from netinspect.errors import Location, MemoryLimitError, OptionError
from netinspect.limits import Limits
from netinspect.render.units import size
from netinspect.spec.model import InputSpec, Spec


def choose_input(spec: Spec | None, shape: str | None, dtype: str | None) -> InputSpec:
    """``--input`` wins over the spec's ``input:``; ``--input-dtype`` over both dtypes.

    A Python target has no spec, so it needs ``--input``."""
    where = spec.model.loc if spec else Location("--input")
    if shape is not None:
        base_dtype = spec.input.dtype if spec and spec.input else "float32"
        return InputSpec(parse_shape(shape), dtype or base_dtype, where)
    if spec is None or spec.input is None:
        raise OptionError(
            "no example input: the spec has no input: and no --input was given",
            where if spec else None,
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
    limits: Limits = DEFAULT_LIMITS,
) -> CompiledModel:
    """Compile on ``device``; on a real device, refuse before allocating more than
    ``limits.max_memory`` bytes (by default, the memory that is free) for the parameters
    and buffers. (A real forward pass is planned whole by :func:`run_for_real`.)"""
    if dtype is not None:
        spec = dataclasses.replace(spec, dtype=dtype)
    if device != "meta":
        planned = compile_spec(spec, "meta", limits)
        check_plan(plan_run(planned, None), spec, device, limits.max_memory)
    return compile_spec(spec, device, limits)


def plan_run(planned: CompiledModel, chosen: InputSpec | None) -> MemoryPlan:
    """The memory of running ``planned`` (built on meta) for real: its parameters and
    buffers, and with an input, the forward pass on it, lazy layers shaped (see
    ``analysis.memory``). A shape mismatch is found here, on meta, before any allocation."""
    if chosen is None:
        return MemoryPlan(tensor_bytes(planned.module), 0, 0)
    example = example_input(chosen.shape, _input_dtype(planned, chosen), "meta", planned.module)

    def run(module: nn.Module, x: torch.Tensor) -> None:
        dry_run(module, x, planned.name, planned.origin, reuse=False)

    return plan_forward(planned.module, example, run)


def check_plan(plan: MemoryPlan, spec: Spec, device: str, max_memory: int | None) -> None:
    """Refuse a real run that ``plan`` shows will not fit, before it allocates anything."""
    allowed = available_memory() if max_memory is None else max_memory
    if plan.total <= allowed:
        return
    parts = [f"parameters and buffers {size(plan.parameters)}"]
    if plan.input or plan.activations:
        parts += [f"input {size(plan.input)}", f"activations {size(plan.activations)}"]
    if plan.temporaries:
        parts.append(f"init temporaries {size(plan.temporaries)}")
    what = "is free" if max_memory is None else "is allowed (--max-memory)"
    raise MemoryLimitError(
        f"running this model on {device} needs {size(plan.total)} ({', '.join(parts)}), "
        f"but only {size(allowed)} {what}",
        spec.model.loc,
        "Inspect it on the meta device instead (the default), which allocates nothing, "
        "or set --max-memory if swap makes room.",
    )


def run_for_real(
    spec: Spec,
    chosen: InputSpec,
    device: str = "cpu",
    dtype: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> DryRunReport:
    """A dry run on a real device, planned whole on meta first (parameters, lazy ones
    shaped, the input, the pass's activations) and refused before anything is allocated
    when it would not fit in ``limits.max_memory`` (by default, what is free)."""
    if dtype is not None:
        spec = dataclasses.replace(spec, dtype=dtype)
    planned = compile_spec(spec, "meta", limits)
    check_plan(plan_run(planned, chosen), spec, device, limits.max_memory)
    return forward(compile_spec(spec, device, limits), chosen, device)


def _param_dtype(compiled: CompiledModel) -> torch.dtype:
    if compiled.spec is not None:
        return torch_dtype(compiled.spec.dtype)
    floats = (p.dtype for p in compiled.module.parameters() if p.dtype.is_floating_point)
    return next(floats, torch.float32)


def forward(compiled: CompiledModel, chosen: InputSpec, device: str = "meta") -> DryRunReport:
    """The dry run of a compiled model on the chosen example input.

    Floating-point inputs take the parameters' dtype (a bfloat16 model gets bfloat16 data,
    as its layers require); integer inputs keep theirs.
    """
    example = example_input(chosen.shape, _input_dtype(compiled, chosen), device, compiled.module)
    return dry_run(compiled.module, example, compiled.name, compiled.origin)


def _input_dtype(compiled: CompiledModel, chosen: InputSpec) -> torch.dtype:
    dtype = torch_dtype(chosen.dtype)
    return _param_dtype(compiled) if dtype.is_floating_point else dtype


def spec_rules(spec: Spec) -> list[Rule]:
    """The spec's ``init:`` rules with their schemes resolved, in file order. A spec is
    untrusted: its schemes are built-in ones, never code, whatever the command line allows."""
    return [
        Rule(
            weight=resolve_scheme(r.weight) if r.weight else None,
            bias=resolve_scheme(r.bias) if r.bias else None,
            match_type=r.match_type,
            match_path=r.match_path,
            loc=r.loc,
        )
        for r in spec.init
    ]


def init_model(
    spec: Spec,
    rules: list[Rule],
    *,
    scheme_label: str = "init rules",
    seed: int | None = None,
    shape: str | None = None,
    input_dtype: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[CompiledModel, InitReport]:
    """Build the model for real on cpu under ``seed`` and apply ``rules``, last one winning.

    Everything random (each layer's own init, the example input that shapes lazy layers, the
    schemes) draws from torch's generator seeded once, so a seed gives the same weights bit
    for bit; without one a seed is drawn and reported. The caller's RNG state is restored.
    """
    if not rules:
        raise OptionError(
            "nothing to initialize: give --scheme, or init: rules in the spec",
            hint="For example: netinspect init model.yaml --scheme xavier",
        )
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    # One plan on meta, before anything is allocated: it reports a rule that matches
    # nothing, finds the layers the rules overwrite whole (they get memory without their
    # default init: one random fill of every weight saved), and checks the memory.
    planned = compile_spec(spec, "meta", limits)
    overwritten = overwritten_layers(planned.module, rules)
    lazy = any(is_lazy(p) for p in planned.module.parameters())
    if lazy and shape is None and spec.input is None:
        raise OptionError(
            "the model has lazy layers, whose shapes come from a forward pass; "
            "give an example input",
            spec.model.loc,
            "Pass --input (e.g. --input 2x20) or add input: to the spec.",
        )
    chosen = choose_input(spec, shape, input_dtype) if lazy else None
    memory = plan_run(planned, chosen)  # shapes the planned lazy layers on meta
    memory = dataclasses.replace(memory, temporaries=temporaries(planned.module, rules))
    check_plan(memory, spec, "cpu", limits.max_memory)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        compiled = compile_spec(spec, "cpu", limits, uninitialized=overwritten)
        if chosen is not None:
            forward(compiled, chosen, "cpu")
        ties = _tie_names(compiled)
        report = initialize(
            compiled.module,
            rules,
            model_name=compiled.name,
            scheme_label=scheme_label,
            seed=seed,
            progress=progress,
        )
    if _tie_names(compiled) != ties:  # init works in place; a broken tie is a bug
        raise AssertionError("initialization broke a tie between parameters")
    return compiled, report


def _tie_names(compiled: CompiledModel) -> list[list[str]]:
    named = compiled.module.named_parameters(remove_duplicate=False)
    return [names for names, _ in alias_groups(named) if len(names) > 1]
