"""The typed API: the one workflow every command, and every Python user, goes through.

Values are typed (shapes as tuples, dtypes as torch dtypes, one :class:`Limits` passed
through whole) and every guard is applied on every path: the limits while loading and
building, the memory plan before any real allocation (of a spec or of a Python target), a
spec's ``init:`` rules resolved to built-in schemes only, and user code imported only where
the caller allowed it. The command line only parses its strings into these types, calls
these functions and renders what they return::

    import torch
    import netinspect

    spec = netinspect.load("configs/tied.yaml")
    model = netinspect.build(spec)                           # on meta: nothing allocated
    print(netinspect.params(model).total)                    # 121
    run = netinspect.dry_run(spec, netinspect.choose_input(spec, (3, 4)))
    print(run.output, run.flops)                             # (3, 1) 1008

torch is imported when a function needs it, not when this module is.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeAlias, TypeVar

from netinspect.errors import (
    ForwardError,
    InitError,
    Location,
    MemoryLimitError,
    NetinspectError,
    OptionError,
    OutputFileError,
    SpecFileError,
)
from netinspect.limits import DEFAULT_LIMITS, Limits
from netinspect.spec.model import InputSpec, SchemeSpec, Spec, looks_like_python

if TYPE_CHECKING:
    import torch
    from torch import nn

    from netinspect.analysis.check import CheckReport, CheckRun
    from netinspect.analysis.diff import DiffReport
    from netinspect.analysis.distributed import RankReport
    from netinspect.analysis.dryrun import DryRunReport, Example
    from netinspect.analysis.graph import Graph
    from netinspect.analysis.init import InitReport, Rule, Scheme
    from netinspect.analysis.loadcheck import LoadReport
    from netinspect.analysis.memory import MemoryPlan
    from netinspect.analysis.params import ParamsReport
    from netinspect.analysis.report import ModelReport
    from netinspect.analysis.shared import SharedReport
    from netinspect.analysis.streaming import StreamPlan
    from netinspect.analysis.training import MemoryReport, Settings
    from netinspect.analysis.tree import TreeReport
    from netinspect.builder.compiler import CompiledModel
    from netinspect.weights.safetensors import WeightsFile
    from netinspect.weights.writer import Bytes, Entry


@dataclass(frozen=True)
class PythonTarget:
    """``package.module:callable``, a factory of an existing model, to be imported and
    called with no arguments under the device the model is built on. Made only by
    :func:`python_target`, which checks that importing it is allowed."""

    reference: str
    import_path: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.reference.partition(":")[2].rsplit(".", 1)[-1]


@dataclass(frozen=True)
class WeightsSource:
    """A weights file named where a spec goes: its tensors, as its header states them."""

    reference: str  # the file's path
    weights: WeightsFile

    @property
    def name(self) -> str:
        return os.path.basename(self.reference)


#: What a model is built from.
Source: TypeAlias = Spec | PythonTarget | WeightsSource


@dataclass(frozen=True)
class Budgets:
    """Limits a team sets on a model (``netinspect check``); None is not checked.

    ``where`` says where each limit was set, by its option's name (``max-params``): a key
    of the spec's ``budget:`` (file, line, column) or an option (``--max-params``)."""

    max_params: int | None = None
    max_bytes: int | None = None
    max_flops: int | None = None
    expect_output: tuple[int, ...] | None = None
    max_train_memory: int | None = None  # a training step's peak (see plan_training)
    where: Mapping[str, Location] = dataclasses.field(default_factory=dict, compare=False)

    @classmethod
    def of_spec(cls, spec: Spec) -> Budgets:
        """The limits of a spec's ``budget:``, each located at its key."""
        given = {limit.name: limit.value for limit in spec.budget}

        def count(name: str) -> int | None:
            value = given.get(name)
            assert value is None or isinstance(value, int), f"{name} is a number (spec.parse)"
            return value

        shape = given.get("expect-output")
        assert shape is None or isinstance(shape, tuple), "expect-output is a shape"
        where = {limit.name: limit.loc for limit in spec.budget}
        return cls(
            count("max-params"), count("max-bytes"), count("max-flops"), shape,
            count("max-train-memory"), where=where,
        )  # fmt: skip

    def at_options(self) -> Budgets:
        """These limits, each located at its option (``--max-params``): the command line's."""
        fields = [f.name for f in dataclasses.fields(self) if f.name != "where"]
        set_here = [name.replace("_", "-") for name in fields if getattr(self, name) is not None]
        return dataclasses.replace(self, where={name: Location(f"--{name}") for name in set_here})

    def over(self, base: Budgets) -> Budgets:
        """These limits, and ``base``'s where these set none: the command line over a spec."""
        fields = [f.name for f in dataclasses.fields(self) if f.name != "where"]
        values = {
            name: getattr(self, name) if getattr(self, name) is not None else getattr(base, name)
            for name in fields
        }
        return Budgets(**values, where={**base.where, **self.where})

    @property
    def empty(self) -> bool:
        return self == Budgets()

    @property
    def needs_a_pass(self) -> bool:
        return self.max_flops is not None or self.expect_output is not None

    def require_one(self) -> None:
        """Refuse a check of nothing, which would always pass."""
        if self.empty:
            raise OptionError(
                "nothing to check",
                hint="Give --max-params, --max-bytes, --max-flops, --expect-output or "
                "--max-train-memory, or a budget: in the spec (budget: {max_params: 7B}).",
            )


def budgets_for(source: Source, given: Budgets = Budgets()) -> Budgets:
    """The limits ``check`` holds ``source`` to: ``given`` (the command line's), and the
    spec's ``budget:`` where ``given`` sets none."""
    return given.over(Budgets.of_spec(source)) if isinstance(source, Spec) else given


# -- specs and targets ---------------------------------------------------------------------
def load(path: str, limits: Limits = DEFAULT_LIMITS) -> Spec:
    """Read and validate a spec file (``-`` reads standard input)."""
    from netinspect.spec.loader import read_text

    file, text = read_text(path, limits.max_spec_bytes)
    return load_string(text, file, _default_name(path), limits)


def load_string(
    text: str, file: str = "<string>", name: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> Spec:
    """Parse and validate spec text; ``file`` is the name used in error locations."""
    from netinspect.spec.loader import load_text
    from netinspect.spec.parse import parse_spec

    node = load_text(text, file, limits.max_nodes, limits.max_depth)
    from netinspect.builder.registry import registry  # torch: only once the YAML is sound

    return parse_spec(node, name or _default_name(file), registry(), limits.max_depth)


def _default_name(file: str) -> str:
    from pathlib import Path

    return "stdin" if file in ("-", "<stdin>") else Path(file).stem


def open_source(
    text: str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    allow_import: bool = False,
    import_path: Sequence[str] = (),
) -> Source:
    """What a command's SPEC argument names: a spec file (``-``: standard input), a weights
    file (safetensors, known by its content or its extension: its header alone is read),
    or, when no file has that name, a ``package.module:callable`` (refused without
    ``allow_import``)."""
    from netinspect.builder.targets import is_target
    from netinspect.weights import is_weights, read

    if text != "-" and _GLOB.search(text) and not os.path.lexists(text) and not is_target(text):
        raise SpecFileError(f"no file matches {text!r}", Location(text))
    if is_target(text):
        return python_target(text, allow_import=allow_import, import_path=import_path)
    if text != "-" and is_weights(text):
        return WeightsSource(text, read(text))
    return load(text, limits)


_GLOB = re.compile(r"[*?[]")


def expand_specs(arguments: Sequence[str]) -> list[str]:
    """The SPEC arguments of a command over many specs, with each glob pattern replaced by
    the paths it matches, sorted (``**`` spans folders: ``configs/**/*.yaml``), and each
    path once. Shells expand globs themselves; a quoted pattern (or one from a tool that does
    not run a shell) is expanded here the same way. A pattern that matches nothing stays, to
    fail as a missing file when opened; so does an existing file whose name looks like one,
    ``-`` and a Python target. ``-`` (standard input) may be given once."""
    import glob

    expanded: list[str] = []
    for argument in arguments:
        literal = argument == "-" or not _GLOB.search(argument) or os.path.lexists(argument)
        matches = [] if literal else sorted(glob.glob(argument, recursive=True))
        expanded.extend(matches or [argument])
    if expanded.count("-") > 1:
        raise OptionError(
            "standard input can be read once: give - as at most one SPEC", Location("SPEC")
        )
    seen: set[str] = set()
    unique = []
    for path in expanded:
        key = path if path == "-" else os.path.normpath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


#: Top-level keys only a spec has: a YAML file with none of them is some other YAML file.
_SPEC_KEYS = frozenset({"model", "blocks", "shared", "ties", "init", "budget"})


def is_spec_file(path: str, limits: Limits = DEFAULT_LIMITS) -> bool:
    """Whether the YAML file at ``path`` is a spec, for a hook handed every changed YAML
    file (``check --skip-non-specs``): false for a file whose top level is not a mapping
    with one of a spec's own keys (``model:``, ``blocks:``, ``budget:``, ...), a workflow or
    a hook list. A file that cannot be read or parsed, and anything that is not a plain
    path (``-``, a Python target, a weights file), counts as a spec, to be checked."""
    from netinspect.builder.targets import is_target
    from netinspect.spec.loader import Map, load_text, read_text

    if path == "-" or is_target(path) or not path.endswith((".yaml", ".yml")):
        return True
    try:
        file, text = read_text(path, limits.max_spec_bytes)
        node = load_text(text, file, limits.max_nodes, limits.max_depth)
    except NetinspectError:
        return True  # checking it says what is wrong
    return isinstance(node, Map) and not _SPEC_KEYS.isdisjoint(str(k.value) for k, _ in node)


R = TypeVar("R")


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """One SPEC of a command over many: the report its work returned, or the error that
    stopped it (``exception``: what was raised, for a traceback), and its own exit status."""

    spec: str
    status: int
    report: R | None = None
    error: NetinspectError | None = None
    exception: BaseException | None = None
    seconds: float = 0.0  # how long its work took (a JUnit report's time)


def attempt(spec: str, work: Callable[[str], R], failed: Callable[[R], bool]) -> Outcome[R]:
    """``work(spec)``, kept to this one spec: an error (the spec's, the machine's, or a bug
    in netinspect) becomes its outcome and the next spec still runs. ``failed(report)``
    says when the report is a failed check (exit status 3). A Ctrl-C, and standard output
    failing, stop the whole command."""
    import time

    from netinspect import __version__
    from netinspect.errors import (
        ExitCode,
        InternalError,
        OutputStreamError,
        environment_error,
        internal_error,
    )

    start = time.perf_counter()
    try:
        report = work(spec)
    except OutputStreamError:
        raise
    except Exception as exc:
        error = (
            exc
            if isinstance(exc, NetinspectError)
            else environment_error(exc) or internal_error(exc, __version__)
        )
        if error.location is None and not isinstance(error, InternalError):
            error.location = Location(spec)  # among many specs, say which one
        took = time.perf_counter() - start
        return Outcome(spec, error.exit_code, error=error, exception=exc, seconds=took)
    status = ExitCode.CHECK_FAILED if failed(report) else ExitCode.OK
    return Outcome(spec, status, report, seconds=time.perf_counter() - start)


def user_code_imported() -> bool:
    """Whether this process imported user code (a target or a scheme): its ``atexit``
    handlers are then its own, and a process should exit normally."""
    from netinspect.builder.targets import imported

    return imported()


def python_target(
    reference: str, *, allow_import: bool = False, import_path: Sequence[str] = ()
) -> PythonTarget:
    """A Python factory to build a model from, when the caller allows importing it: naming
    a factory is running its code, so a spec can never do it, only a command line."""
    from netinspect.spec.model import PYTHON_REFERENCE

    where = Location(reference)
    if not PYTHON_REFERENCE.match(reference):
        raise OptionError(f"{reference!r} is not package.module:callable", where)
    if not allow_import:
        raise OptionError(
            f"{reference!r} names Python code (module:callable); netinspect imports code only "
            "when you allow it",
            where,
            "Add --allow-import to inspect it.",
        )
    return PythonTarget(reference, tuple(import_path))


# -- building ------------------------------------------------------------------------------
def build(
    source: Source,
    *,
    device: str = "meta",
    dtype: torch.dtype | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> CompiledModel:
    """The model ``source`` describes, on ``device``, with its parameters in ``dtype`` (by
    default the spec's). On meta nothing is allocated. On a real device the model is first
    built on meta, and refused before anything is allocated when its parameters and buffers
    do not fit in ``limits.max_memory`` (by default, the memory that is free)."""
    if device != "meta":
        planned = _compile(source, "meta", dtype, limits)
        _check_plan(plan_memory(planned), source, device, limits.max_memory)
    return _compile(source, device, dtype, limits)


def _compile(
    source: Source, device: str, dtype: torch.dtype | None, limits: Limits
) -> CompiledModel:
    """Build without a memory plan (the callers plan first)."""
    from netinspect.builder.compiler import CompiledModel, compile_spec
    from netinspect.dtypes import dtype_name

    if isinstance(source, WeightsSource):
        from netinspect.builder.weights import module_from

        if device != "meta":
            raise OptionError(
                f"{source.name} is a weights file: it holds tensors, not a model to run",
                Location(source.reference),
                "Give the spec (or Python target) of its model, and check it against the file "
                "with check SPEC --weights FILE.",
            )
        module = module_from(source.weights)
        if dtype is not None:
            module.to(dtype=dtype)
        return CompiledModel(source.name, module, None)
    if isinstance(source, Spec):
        spec = dataclasses.replace(source, dtype=dtype_name(dtype)) if dtype else source
        return compile_spec(spec, device, limits)
    from netinspect.builder.targets import build_target

    model = build_target(source.reference, device, source.import_path)
    if dtype is not None:
        model.to(dtype=dtype)
    return CompiledModel(source.name, model, None)


def plan_memory(planned: CompiledModel, chosen: InputArg = None) -> MemoryPlan:
    """The memory of running ``planned`` (built on meta) for real: its parameters and
    buffers, and with an input, the forward pass on it, lazy layers shaped (see
    ``analysis.memory``). A shape mismatch is found here, on meta, before any allocation."""
    from netinspect.analysis.dryrun import dry_run as run_pass
    from netinspect.analysis.memory import MemoryPlan, plan_forward, tensor_bytes

    inputs = _as_inputs(chosen)
    if not inputs:
        return MemoryPlan(tensor_bytes(planned.module), 0, 0)
    example = _example(planned, inputs, "meta")

    def run(module: nn.Module, x: Example) -> None:
        run_pass(module, x, planned.name, planned.origin, reuse=False)

    return plan_forward(planned.module, example, run)


def _as_inputs(chosen: InputArg) -> Inputs:
    if chosen is None:
        return ()
    if isinstance(chosen, InputSpec):
        return (chosen,)
    return tuple(chosen)


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


def _check_plan(plan: MemoryPlan, source: Source, device: str, max_memory: int | None) -> None:
    """Refuse a real run that ``plan`` shows will not fit, before it allocates anything."""
    from netinspect.render.units import size

    allowed = available_memory() if max_memory is None else max_memory
    if plan.total <= allowed:
        return
    parts = [f"parameters and buffers {size(plan.parameters)}"]
    if plan.input or plan.activations:
        parts += [f"input {size(plan.input)}", f"activations {size(plan.activations)}"]
    if plan.temporaries:
        parts.append(f"init temporaries {size(plan.temporaries)}")
    what = "is free" if max_memory is None else "is allowed (--max-memory)"
    where = source.model.loc if isinstance(source, Spec) else Location(source.reference)
    raise MemoryLimitError(
        f"running this model on {device} needs {size(plan.total)} ({', '.join(parts)}), "
        f"but only {size(allowed)} {what}",
        where,
        "Inspect it on the meta device instead (the default), which allocates nothing, "
        "or set --max-memory if swap makes room.",
    )


# -- the example input and the dry run -------------------------------------------------------
Inputs: TypeAlias = tuple[InputSpec, ...]
#: What the functions below take as the example input: one input, or several (positional
#: ones first, then keyword ones, as :func:`choose_input` returns them).
InputArg: TypeAlias = "InputSpec | Sequence[InputSpec] | None"


def choose_input(
    source: Source | CompiledModel | None = None,
    shape: tuple[int, ...] | Sequence[InputSpec] | None = None,
    dtype: torch.dtype | None = None,
) -> Inputs:
    """The example inputs, positional ones first. ``shape`` (one input's shape, or inputs
    as the command line gives them) wins over the spec's ``input:``; ``dtype`` sets every
    input whose own dtype was not stated with it, else the spec's stated dtype stands for
    the input it belongs to (by position or name). An input whose dtype nobody stated is
    floating and takes the parameters' dtype when it runs. A Python target has no spec,
    so it needs a shape."""
    _runnable(source)
    spec = _spec_of(source)
    where = spec.model.loc if spec else Location("--input")
    if shape is not None:
        given = _given_inputs(shape, where)
        stated = spec.inputs if spec else ()
        return tuple(
            _with_dtype(item, dtype, _counterpart(item, index, stated))
            for index, item in enumerate(given)
        )
    if spec is None:
        target = source.reference if isinstance(source, PythonTarget) else None
        raise OptionError(
            "no example input: a Python target has no spec to hold one, so --input is needed",
            Location(target) if target else None,
            "Give one, e.g. --input 2x4 (batch first; --input-dtype int64 for token ids).",
        )
    if not spec.inputs:
        raise OptionError(
            "no example input: the spec has no input: and no --input was given",
            where,
            "Give one, e.g. --input 2x4 (batch first), or add 'input: [2, 4]' to the spec.",
        )
    return tuple(_with_dtype(i, dtype, None) for i in spec.inputs)


def _given_inputs(shape: tuple[int, ...] | Sequence[InputSpec], where: Location) -> Inputs:
    """Inputs as given, checked: positional ones first (in their order), no name twice."""
    from netinspect.spec.model import check_shape

    if all(isinstance(n, int) for n in shape):
        ints = tuple(n for n in shape if isinstance(n, int))
        return (InputSpec(check_shape(ints, "the input", where), "float32", where),)
    items = [i for i in shape if isinstance(i, InputSpec)]
    names = [i.name for i in items if i.name is not None]
    for name in names:
        if names.count(name) > 1:
            raise OptionError(f"the input {name!r} is given twice", Location("--input"))
    for item in items:
        check_shape(item.shape, f"the input {item.name}" if item.name else "the input", item.loc)
    return (*(i for i in items if i.name is None), *(i for i in items if i.name is not None))


def _with_dtype(item: InputSpec, dtype: torch.dtype | None, stated: InputSpec | None) -> InputSpec:
    """``item`` with ``dtype`` when it states none of its own; else with the dtype the
    spec states for the same input (``stated``), if any."""
    from netinspect.dtypes import dtype_name

    if item.dtype_given:
        return item
    if dtype is not None:
        return dataclasses.replace(item, dtype=dtype_name(dtype), dtype_given=True)
    if stated is not None and stated.dtype_given:
        return dataclasses.replace(item, dtype=stated.dtype, dtype_given=True)
    return item


def _counterpart(item: InputSpec, index: int, stated: Inputs) -> InputSpec | None:
    """The spec's input that ``item`` (at ``index`` among positional inputs) replaces."""
    if item.name is not None:
        return next((s for s in stated if s.name == item.name), None)
    positional = [s for s in stated if s.name is None]
    return positional[index] if index < len(positional) else None


def _runnable(source: Source | CompiledModel | None) -> None:
    """Refuse to run a weights file: it has tensors and no forward."""
    if isinstance(source, WeightsSource):
        raise OptionError(
            f"{source.name} is a weights file: it holds tensors and no forward to run",
            Location(source.reference),
            "Run the spec (or Python target) of its model instead.",
        )


def _spec_of(source: Source | CompiledModel | None) -> Spec | None:
    if isinstance(source, Spec):
        return source
    if source is None or isinstance(source, (PythonTarget, WeightsSource)):
        return None
    return source.spec


def dry_run(
    source: Source | CompiledModel,
    input: InputArg = None,
    *,
    device: str = "meta",
    dtype: torch.dtype | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> DryRunReport:
    """One forward pass in eval mode without autograd, recording every call.

    From a spec or a target, the model is built for the pass; on a real device, the whole
    run (parameters, lazy layers shaped, inputs, activations) is planned on meta first and
    refused before anything is allocated when it does not fit. A model already built runs
    as it is, on its device (lazy layers are shaped in place). ``input`` defaults to the
    spec's ``input:``."""
    _runnable(source)
    chosen = _as_inputs(input) or choose_input(source)
    if not isinstance(source, (Spec, PythonTarget, WeightsSource)):  # a model, built
        return _forward(source, chosen, device)
    if device != "meta":
        planned = _compile(source, "meta", dtype, limits)
        _check_plan(_plan_run(planned, chosen), source, device, limits.max_memory)
    return _forward(_compile(source, device, dtype, limits), chosen, device)


def _plan_run(planned: CompiledModel, chosen: Inputs) -> MemoryPlan:
    """The plan of a real pass; for a model whose forward reads its data (which meta
    cannot follow), its parameters and inputs alone: the activations are not planned."""
    from netinspect.errors import MetaValueError

    try:
        return plan_memory(planned, chosen)
    except MetaValueError:
        plan = plan_memory(planned)
        inputs = sum(math.prod(i.shape) * _input_dtype(planned, i).itemsize for i in chosen)
        return dataclasses.replace(plan, input=inputs)


def _forward(model: CompiledModel, chosen: Inputs, device: str) -> DryRunReport:
    from netinspect.analysis.dryrun import dry_run as run_pass

    return run_pass(model.module, _example(model, chosen, device), model.name, model.origin)


def _example(model: CompiledModel, chosen: Inputs, device: str) -> Example:
    from netinspect.analysis.dryrun import example_inputs

    typed = [(i.name, i.shape, _input_dtype(model, i)) for i in chosen]
    return example_inputs(typed, device, model.module)


def _input_dtype(model: CompiledModel, chosen: InputSpec) -> torch.dtype:
    """A stated dtype as given; an unstated floating one takes the parameters' dtype (a
    bfloat16 model gets bfloat16 data, as its layers require)."""
    from netinspect.dtypes import torch_dtype

    dtype = torch_dtype(chosen.dtype)
    if chosen.dtype_given or not dtype.is_floating_point:
        return dtype
    if model.spec is not None:
        return torch_dtype(model.spec.dtype)
    floats = (p.dtype for p in model.module.parameters() if p.dtype.is_floating_point)
    return next(floats, dtype)


# -- the memory of training ------------------------------------------------------------------
def plan_training(
    source: Source,
    input: InputArg = None,
    *,
    dtype: torch.dtype | None = None,
    amp: torch.dtype | None = None,
    optimizer: str = "adamw",
    target: str = "cuda",
    inference_only: bool = False,
    device_memory: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> MemoryReport:
    """The memory of one training step (and of a no-grad forward) on ``target``, planned on
    meta: the real step runs there (see ``analysis.training``), so nothing is allocated.
    ``dtype`` is the parameters' and the data's (``bfloat16``: a bf16 model); ``amp`` runs
    the forward under autocast to that dtype with the parameters as they are. With
    ``device_memory``, the report says what fits in it: the largest batch (the first size
    of every input), found in a few more plans (``analysis.training.largest_batch``)."""
    from netinspect.analysis.training import OPTIMIZERS, TARGETS, Fit, Settings, largest_batch

    if optimizer not in OPTIMIZERS:
        raise OptionError(
            f"unknown optimizer {optimizer!r}; expected one of: {', '.join(OPTIMIZERS)}",
            Location("--optimizer"),
        )
    if target not in TARGETS:
        raise OptionError(
            f"unknown target {target!r}; expected one of: {', '.join(TARGETS)}",
            Location("--target"),
        )
    _runnable(source)
    chosen = _as_inputs(input) or choose_input(source)
    settings = Settings(optimizer, amp, target, inference_only)

    def plan(inputs: Inputs) -> MemoryReport:
        model = _compile(source, "meta", dtype, limits)
        if unshaped(model):  # lazy layers get their shapes first, as in a training script
            _forward(model, inputs, "meta")
        return _plan_step(model, inputs, settings)

    report = plan(chosen)
    if device_memory is None:
        return report
    batch = chosen[0].shape[0]

    def peak_at(b: int) -> int:
        return _peak(plan(tuple(dataclasses.replace(i, shape=(b, *i.shape[1:])) for i in chosen)))

    largest, largest_peak = largest_batch(peak_at, batch, _peak(report), device_memory)
    at_peak = report.training.steady.at_peak if report.training else {}
    dominant = max(at_peak, key=lambda kind: at_peak[kind], default="activations")
    fit = Fit(device_memory, batch, _peak(report), largest, largest_peak, dominant)
    return dataclasses.replace(report, fit=fit)


def _plan_step(model: CompiledModel, inputs: Inputs, settings: Settings) -> MemoryReport:
    from netinspect.analysis.training import plan_step

    example = _example(model, inputs, "meta")
    try:
        return plan_step(model.module, example.args, dict(example.kwargs), model.name, settings)
    except NetinspectError:
        raise
    except Exception as exc:  # the step failed on meta: say where, as a dry run would
        from netinspect.analysis.dryrun import dry_run as run_pass

        run_pass(model.module, example, model.name, model.origin)  # locates a forward error
        raise ForwardError(
            f"the training step of {model.name} failed on meta: {type(exc).__name__}: {exc}",
            model.spec.model.loc if model.spec else Location(model.name),
        ) from exc


def _peak(report: MemoryReport) -> int:
    """The peak a device must hold: the steady training step's, or with ``--inference``
    the parameters, the input and the forward's peak above them."""
    if report.training is not None:
        return report.training.steady.peak
    return report.parameters + report.input + report.inference_peak


# -- inspecting ----------------------------------------------------------------------------
def inspect(
    source: Source, *, input: InputArg = None, limits: Limits = DEFAULT_LIMITS
) -> CompiledModel:
    """The model on meta, to inspect. A model with lazy layers is shaped first by one dry
    run on ``input``, or else on the spec's ``input:``; without either its lazy parameters
    stay unshaped (see :func:`unshaped`). Given an input, the pass runs in any case."""
    model = build(source, limits=limits)
    chosen = _as_inputs(input)
    if not chosen and unshaped(model) and model.spec is not None and model.spec.inputs:
        chosen = choose_input(model)
    if chosen:
        _forward(model, chosen, "meta")
    return model


def unshaped(model: CompiledModel) -> int:
    """How many of the model's parameters are lazy, with no shape yet (they count 0)."""
    from netinspect.analysis.tensors import is_lazy

    return sum(1 for p in model.module.parameters() if is_lazy(p))


def params(
    model: CompiledModel, pattern: str | None = None, *, buffers: bool = False
) -> ParamsReport:
    """Every named parameter (a tied one under each name), and with ``buffers`` the buffers
    after them (the totals count buffers either way); ``pattern`` is a glob on names, and a
    pattern that matches nothing is an error that shows what names look like."""
    from netinspect.analysis.params import params as params_of

    report = params_of(model.module, model.name, pattern, with_buffers=buffers)
    if pattern is not None and not report.rows:
        names = [n for n, _ in model.module.named_parameters(remove_duplicate=False)]
        hint = (
            f"Names look like {', '.join(repr(n) for n in names[:3])}; * matches any text."
            if names
            else "The model has no parameters."
        )
        raise OptionError(f"--filter {pattern!r} matches no parameter name", hint=hint)
    return report


def tree(model: CompiledModel, depth: int | None = None) -> TreeReport:
    """The block tree; ``depth`` 0 shows the root alone."""
    from netinspect.analysis.tree import tree as tree_of

    return tree_of(model.module, model.name, depth)


def example_run(model: CompiledModel, input: InputArg = None) -> DryRunReport | None:
    """A dry run on meta for the pictures' shapes: on ``input``, else on the spec's
    ``input:``; None when neither is there (the pictures then show no shapes). Lazy layers
    get their shapes from it."""
    chosen = _as_inputs(input)
    if not chosen and model.spec is not None and model.spec.inputs:
        chosen = choose_input(model)
    return _forward(model, chosen, "meta") if chosen else None


def graph(
    model: CompiledModel, run: DryRunReport | None = None, *, depth: int | None = None
) -> Graph:
    """The model as a diagram (``analysis.graph``): ``run`` (:func:`example_run`) adds
    call order and shapes; blocks ``depth`` levels down are folded into one node each."""
    from netinspect.analysis.graph import graph as graph_of

    return graph_of(model.module, model.name, run, depth)


def report(
    source: Source,
    input: InputArg = None,
    *,
    memory: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> ModelReport:
    """What ``netinspect report`` draws: every place of the tree with its shapes, FLOPs and
    share of the parameters, the totals, and with an input the memory of a training step
    (AdamW on cuda, as ``memory`` plans it by default; ``memory=False`` skips it: it runs
    the whole step on meta, a minute and more for ten thousand layers). Without an input
    (``input``, or the spec's ``input:``) there are no shapes, FLOPs or memory plan, and
    the report says so."""
    from netinspect.analysis.report import ModelReport, rows

    model = build(source, limits=limits)
    run = example_run(model, input)
    plan: MemoryReport | None = None
    note: str | None = "no example input: give --input, or input: in the spec"
    if run is not None and not memory:
        note = "not planned (--no-memory)"
    elif run is not None:
        try:
            plan, note = plan_training(source, input, limits=limits), None
        except NetinspectError as exc:  # the rest of the report stands; it says why
            note = f"not planned: {exc.message}"
    return ModelReport(
        model.name, rows(model.module, model.name, run), params(model), run, plan, note,
        tuple(tuple(names) for names in _tie_names(model)),
    )  # fmt: skip


def shared(model: CompiledModel) -> SharedReport:
    """Every group of parameter names that are one tensor, and what the ties save."""
    from netinspect.analysis.shared import shared as shared_of

    return shared_of(model.module, model.name)


def check(
    source: Source,
    budgets: Budgets = Budgets(),
    *,
    input: InputArg = None,
    dtype: torch.dtype | None = None,
    amp: torch.dtype | None = None,
    optimizer: str = "adamw",
    target: str = "cuda",
    limits: Limits = DEFAULT_LIMITS,
) -> CheckReport:
    """Each budget against what the model measures: ``budgets``, and the spec's ``budget:``
    where ``budgets`` sets none (:func:`budgets_for`). FLOPs and the output shape need a dry
    run on meta; so does a model with lazy layers, whose parameters are counted only once
    a pass has shaped them (never passed on 0). ``max_train_memory`` plans a training
    step with ``dtype``, ``amp``, ``optimizer`` and ``target`` (see :func:`plan_training`);
    ``dtype`` is the parameters' for every budget."""
    from netinspect.analysis.check import check as check_of
    from netinspect.analysis.params import params as params_of

    budgets = budgets_for(source, budgets)
    budgets.require_one()
    model = build(source, dtype=dtype, limits=limits)
    lazy = unshaped(model) > 0
    run = None
    chosen = _as_inputs(input)
    if budgets.needs_a_pass or chosen or lazy:
        run = _forward(model, chosen or choose_input(source), "meta")
    totals = params_of(model.module, model.name)
    train_memory = None
    if budgets.max_train_memory is not None:
        planned = plan_training(
            source, chosen or None, dtype=dtype, amp=amp, optimizer=optimizer, target=target,
            limits=limits,
        )  # fmt: skip
        train_memory = _peak(planned)
    return check_of(
        model.name,
        params=totals.total,
        n_bytes=totals.bytes,
        flops=run.flops if run else None,
        output=run.output if run else None,
        train_memory=train_memory,
        max_params=budgets.max_params,
        max_bytes=budgets.max_bytes,
        max_flops=budgets.max_flops,
        expect_output=budgets.expect_output,
        max_train_memory=budgets.max_train_memory,
        where=budgets.where,
    )


def check_weights(
    source: Source,
    path: str,
    *,
    input: InputArg = None,
    strict: bool = True,
    strict_dtype: bool = False,
    max_header_bytes: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> LoadReport:
    """Whether ``model.load_state_dict(weights)`` would work for the model ``source``
    describes and the weights file at ``path``, and if not why (``analysis.loadcheck``):
    the file's header only is read. Lazy layers are shaped first by a pass on ``input`` or
    the spec's ``input:`` (without one, they take the file's shapes, as torch's do)."""
    from netinspect.analysis.loadcheck import Entry, check_load
    from netinspect.analysis.tensors import alias_groups, is_lazy
    from netinspect.dtypes import dtype_name
    from netinspect.weights import read

    weights = read(path, max_header_bytes)
    model = inspect(source, input=input, limits=limits)
    state = [
        Entry(name, None if is_lazy(t) else tuple(t.shape), dtype_name(t.dtype))
        for name, t in model.module.state_dict(keep_vars=True).items()
    ]
    named = model.module.named_parameters(remove_duplicate=False)
    ties = [names for names, _ in alias_groups(named) if len(names) > 1]
    stored = [Entry(t.name, t.shape, t.dtype) for t in weights.tensors]
    return check_load(
        model.name, path, state, stored, aliases=weights.aliases, ties=ties, strict=strict,
        strict_dtype=strict_dtype,
    )  # fmt: skip


def run_checks(
    source: Source,
    budgets: Budgets = Budgets(),
    *,
    weights: str | None = None,
    input: InputArg = None,
    strict: bool = True,
    strict_dtype: bool = False,
    max_header_bytes: int | None = None,
    dtype: torch.dtype | None = None,
    amp: torch.dtype | None = None,
    optimizer: str = "adamw",
    target: str = "cuda",
    limits: Limits = DEFAULT_LIMITS,
) -> CheckRun:
    """What ``netinspect check`` does for one model: :func:`check` of the budgets (the
    given ones and the spec's; refused when there are none and no ``weights``), and with
    ``weights`` :func:`check_weights`."""
    from netinspect.analysis.check import CheckRun

    report = None
    if weights is None or not budgets_for(source, budgets).empty:
        report = check(
            source, budgets, input=input, dtype=dtype, amp=amp, optimizer=optimizer,
            target=target, limits=limits,
        )  # fmt: skip
    loaded = None
    if weights is not None:
        loaded = check_weights(
            source, weights, input=input, strict=strict, strict_dtype=strict_dtype,
            max_header_bytes=max_header_bytes, limits=limits,
        )  # fmt: skip
    return CheckRun(report, loaded)


def diff(before: CompiledModel, after: CompiledModel) -> DiffReport:
    """Parameters added, removed, and changed in shape or dtype, by name. The two sides are
    labelled by their models' names, or by their files when those names are the same."""
    from netinspect.analysis.diff import diff as diff_of
    from netinspect.analysis.params import params as params_of

    labels = before.name, after.name
    if before.name == after.name:
        labels = _file_of(before), _file_of(after)
    return diff_of(params_of(before.module, labels[0]), params_of(after.module, labels[1]))


def _file_of(model: CompiledModel) -> str:
    """The spec file a model came from (``<stdin>`` for standard input), or its name."""
    return model.spec.model.loc.file if model.spec is not None else model.name


def spec_schema() -> dict[str, object]:
    """The JSON Schema (draft 2020-12) of the spec language, for editors."""
    from netinspect.spec.schema import spec_schema as schema_of

    return schema_of()


# -- initializing --------------------------------------------------------------------------
def scheme(
    spec: SchemeSpec | str, *, allow_import: bool = False, import_path: Sequence[str] = ()
) -> Scheme:
    """A scheme to initialize with: a built-in one by name (``"xavier"``, or a
    :class:`SchemeSpec` with arguments), or the caller's own ``pkg.module:function``, which
    is imported only with ``allow_import`` (after the installed packages: see
    ``builder.targets``)."""
    from netinspect.analysis.init import custom_scheme, resolve_scheme

    if isinstance(spec, str):
        spec = SchemeSpec(spec, (), (), Location("--scheme"))
    if not looks_like_python(spec.name):
        return resolve_scheme(spec)
    if not allow_import:
        raise InitError(
            f"{spec.name!r} is your own Python function; netinspect imports code only when "
            "you allow it",
            spec.loc,
            "Add --allow-import to run it.",
        )
    from netinspect.builder.targets import import_object, searched

    try:
        func = import_object(spec.name, import_path)
    except (ImportError, AttributeError) as exc:
        message = f"cannot import {spec.name}: {exc} ({searched(import_path)})"
        raise InitError(message, spec.loc) from exc
    return custom_scheme(spec, func)


def spec_rules(spec: Spec) -> list[Rule]:
    """The spec's ``init:`` rules with their schemes resolved, in file order. A spec is
    untrusted: its schemes are built-in ones, never code, whatever the caller allows."""
    from netinspect.analysis.init import Rule, resolve_scheme

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


def rule(
    weight: Scheme | None,
    bias: Scheme | None = None,
    *,
    layer_type: str | None = None,
    select: str | None = None,
) -> Rule:
    """Where a scheme applies: modules of class ``layer_type`` and/or whose path matches the
    glob ``select`` (all modules when neither is given), their weights and biases."""
    from netinspect.analysis.init import Rule

    return Rule(weight, bias, layer_type, select)


def check_output(path: str, *, force: bool = False) -> None:
    """Refuse, before any work, a weights file that could not be written: an existing file
    without ``force``, anything but a regular file, a missing or unwritable directory."""
    from netinspect.files import check_writable

    check_writable(path, force)


def write_report(path: str, text: str | bytes) -> None:
    """Write a report file (``check --junit-xml``, ``report -o``, ``graph -o``) whole or
    not at all, replacing the one there: a report is the latest run's."""
    from netinspect.files import atomic_write

    data = text.encode("utf-8") if isinstance(text, str) else text

    def write(tmp: str) -> None:
        with open(tmp, "wb") as file:
            file.write(data)

    atomic_write(path, write, force=True)


def initialize(
    spec: Spec,
    rules: list[Rule],
    *,
    seed: int | None = None,
    input: InputArg = None,
    limits: Limits = DEFAULT_LIMITS,
    scheme_label: str = "init rules",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[CompiledModel, InitReport]:
    """Build the model for real on cpu under ``seed`` and apply ``rules``, last one winning.

    Everything random comes from ``seed``, so a seed gives the same weights bit for bit;
    without one a seed is drawn and reported. The schemes' values, and each layer's own
    default init, follow ``randomness``'s counter-based layout (they depend on the seed and
    the tensor's name or the layer's path only, so a sharded or streamed checkpoint holds
    the same); lazy layers, shaped by a pass on the example input, draw in that pass's
    order from torch's generator seeded once. The caller's RNG state is restored.
    The whole run is planned on meta first (parameters, lazy layers shaped, the shaping
    pass, init's temporaries) and refused before anything is allocated when it does not fit.
    """
    import torch

    from netinspect.analysis.init import initialize as apply_rules
    from netinspect.analysis.init import overwritten_layers, temporaries
    from netinspect.builder.compiler import compile_spec

    _require_rules(rules)
    seed = _init_seed(seed)
    # One plan on meta, before anything is allocated: it reports a rule that matches
    # nothing, finds the layers the rules overwrite whole (they get memory without their
    # default init: one random fill of every weight saved), and checks the memory.
    planned = compile_spec(spec, "meta", limits)
    overwritten = overwritten_layers(planned.module, rules)
    lazy = unshaped(planned) > 0
    given = _as_inputs(input)
    if lazy and not given and not spec.inputs:
        raise OptionError(
            "the model has lazy layers, whose shapes come from a forward pass; "
            "give an example input",
            spec.model.loc,
            "Pass --input (e.g. --input 2x20) or add input: to the spec.",
        )
    chosen = (given or choose_input(spec)) if lazy else ()
    memory = plan_memory(planned, chosen)  # shapes the planned lazy layers on meta
    memory = dataclasses.replace(memory, temporaries=temporaries(planned.module, rules))
    _check_plan(memory, spec, "cpu", limits.max_memory)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = compile_spec(spec, "cpu", limits, uninitialized=overwritten, seed=seed)
        if chosen:
            _forward(model, chosen, "cpu")
        ties = _tie_names(model)
        report = apply_rules(
            model.module,
            rules,
            model_name=model.name,
            scheme_label=scheme_label,
            seed=seed,
            progress=progress,
        )
    if _tie_names(model) != ties:  # init works in place; a broken tie is a bug
        raise AssertionError("initialization broke a tie between parameters")
    return model, report


#: Hugging Face's default shard size (transformers' ``max_shard_size``, huggingface_hub's).
DEFAULT_SHARD_SIZE = 5 * 10**9


def plan_checkpoint(
    spec: Spec,
    rules: list[Rule],
    folder: str,
    *,
    shard_size: int = DEFAULT_SHARD_SIZE,
    force: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    remove_index: bool = True,
) -> tuple[CompiledModel, StreamPlan]:
    """The plan of ``init --out DIR/``, made on meta before anything is allocated or
    written: which tensors go in which shard, how each is made (chunk by chunk, or with its
    layer), the most memory its values take at once, the bytes on disk. Refused here when
    the folder holds a checkpoint (without ``force``), the disk has less free than the
    checkpoint needs, or the largest unit does not fit in memory (``limits.max_memory``,
    or what is free)."""
    from netinspect.analysis.streaming import plan_stream
    from netinspect.builder.compiler import compile_spec
    from netinspect.weights import writer

    _require_rules(rules)
    if shard_size < 1:
        raise OptionError("the shard size must be at least 1 byte", Location("--shard-size"))
    planned = compile_spec(spec, "meta", limits)
    if unshaped(planned) > 0:
        raise OptionError(
            "init --out DIR/ writes a layer at a time and cannot shape lazy layers, whose "
            "shapes come from a forward pass over the whole model",
            spec.model.loc,
            "Give those layers their sizes (Linear instead of LazyLinear), or write one "
            "file (--out FILE.safetensors).",
        )
    stream_plan = plan_stream(planned, rules, shard_size)
    allowed = limits.max_memory if limits.max_memory is not None else available_memory()
    if stream_plan.largest_unit > allowed:
        from netinspect.render.units import size

        raise MemoryLimitError(
            f"writing {spec.name} a layer at a time needs {size(stream_plan.largest_unit)} "
            f"for its largest layer, but only {size(allowed)} is "
            f"{'allowed' if limits.max_memory is not None else 'free'}",
            spec.model.loc,
        )
    writer.prepare(folder, force=force, remove_index=remove_index)
    free = writer.check_disk(folder, stream_plan.total + 2**20 * len(stream_plan.shards))
    return planned, dataclasses.replace(stream_plan, disk_free=free)


def write_checkpoint(
    planned: CompiledModel,
    stream_plan: StreamPlan,
    folder: str,
    *,
    seed: int | None = None,
    scheme_label: str = "init rules",
    progress: Callable[[int, int], None] | None = None,
) -> InitReport:
    """Make and write the checkpoint :func:`plan_checkpoint` planned, a tensor (or a chunk)
    at a time, with exactly the values ``init --out FILE`` gives for ``seed``; its report."""
    from netinspect.analysis.streaming import data_of, maker, report
    from netinspect.weights import writer

    seed = _init_seed(seed)
    make = maker(planned, seed)
    metadata, index_metadata = _checkpoint_metadata(seed, scheme_label, stream_plan.ties)
    writer.write(
        folder, stream_plan.shards, _counted(data_of(stream_plan, make), stream_plan, progress),
        metadata=metadata, index_metadata=index_metadata,
    )  # fmt: skip
    return report(planned, stream_plan, make, scheme_label=scheme_label, seed=seed)


def write_checkpoint_across_ranks(
    planned: CompiledModel,
    stream_plan: StreamPlan,
    folder: str,
    *,
    seed: int | None = None,
    scheme_label: str = "init rules",
    progress_note: Callable[[StreamPlan], None] | None = None,
) -> InitReport | None:
    """``torchrun -m netinspect init --checkpoint-format safetensors``: the ranks share out
    the shards :func:`plan_checkpoint` planned (shard i is rank i mod N's), each made as one
    process makes it, so every file holds the same bytes; rank 0 gathers the statistics,
    writes the index once every rank's shards are in place, and returns the report (the
    other ranks None). Plan with ``remove_index=False``: rank 0 removes an old index
    here, once every rank has looked at the folder."""
    from netinspect.analysis.distributed import agree_seed, barrier, gather
    from netinspect.analysis.streaming import data_of, maker, report
    from netinspect.weights import writer

    seed = agree_seed(_init_seed(seed))
    here, ranks = rank(), world_size()
    if here == 0:
        writer.remove_old_index(folder)
        if progress_note is not None:
            progress_note(stream_plan)
    barrier()
    make = maker(planned, seed)
    metadata, index_metadata = _checkpoint_metadata(seed, scheme_label, stream_plan.ties)
    writer.write_shards(
        folder, stream_plan.shards, data_of(stream_plan, make), metadata=metadata,
        mine=lambda number: number % ranks == here,
    )  # fmt: skip
    rows = gather(make.rows)
    barrier()
    if here != 0:
        return None
    for found in rows:
        make.rows.update(found)  # type: ignore[call-overload]  # each rank's dict of rows
    writer.finish(folder, stream_plan.shards, index_metadata)
    return report(planned, stream_plan, make, scheme_label=scheme_label, seed=seed)


def _checkpoint_metadata(
    seed: int, scheme_label: str, ties: dict[str, str]
) -> tuple[dict[str, str], dict[str, object]]:
    """Each shard's header metadata (safetensors': text) and the index's."""
    import json

    from netinspect.randomness import RNG_VERSION

    ours = {"seed": str(seed), "scheme": scheme_label, "rng": RNG_VERSION, "ties": ties}
    return {"format": "pt", "netinspect": json.dumps(ours, sort_keys=True)}, {"netinspect": ours}


def _counted(
    data: Callable[[Entry], Iterator[Bytes]],
    stream_plan: StreamPlan,
    progress: Callable[[int, int], None] | None,
) -> Callable[[Entry], Iterator[Bytes]]:
    """``data``, telling ``progress`` after each tensor."""
    done = [0]

    def counted(entry: Entry) -> Iterator[Bytes]:
        yield from data(entry)
        done[0] += 1
        if progress:
            progress(done[0], len(stream_plan.units))

    return counted


def world_size() -> int:
    """How many processes torchrun started for this command (1 without torchrun)."""
    from netinspect.analysis.distributed import world_size as size

    return size()


def rank() -> int:
    """This process's rank among them (0 without torchrun)."""
    from netinspect.analysis.distributed import rank as which

    return which()


def init_across_ranks(
    spec: Spec,
    rules: list[Rule],
    folder: str,
    *,
    seed: int | None = None,
    scheme_label: str = "init rules",
    force: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    progress_note: Callable[[StreamPlan, int], None] | None = None,
) -> RankReport:
    """``torchrun -m netinspect init``: this rank's part of a ``torch.distributed.checkpoint``
    in ``folder`` (see ``analysis.distributed``), with exactly the values one process makes
    for ``seed`` (rank 0's, on every rank). Every rank checks what it was given before the
    ranks meet, so a refusal is every rank's and none waits for the others (refused when a
    rank's share does not fit in memory). ``progress_note(plan, bytes per rank)`` is called
    on rank 0 before any tensor is made."""
    from netinspect.analysis.distributed import agree_seed, make_shards
    from netinspect.analysis.streaming import plan_stream
    from netinspect.builder.compiler import compile_spec

    _require_rules(rules)
    planned = compile_spec(spec, "meta", limits)
    if unshaped(planned) > 0:
        raise OptionError(
            "a model with lazy layers cannot be initialized across ranks: their shapes come "
            "from a forward pass over the whole model",
            spec.model.loc,
            "Give those layers their sizes (Linear instead of LazyLinear).",
        )
    if os.path.exists(os.path.join(folder, ".metadata")) and not force:
        raise OutputFileError(
            f"{folder} already holds a checkpoint (.metadata)",
            Location(folder),
            "Pass --force to replace it.",
        )
    stream_plan = plan_stream(planned, rules, 2**63 - 1)
    need = rank_memory(stream_plan, world_size())
    allowed = limits.max_memory if limits.max_memory is not None else available_memory()
    if need > allowed:
        from netinspect.render.units import size

        raise MemoryLimitError(
            f"each of {world_size()} ranks needs about {size(need)} (its rows, and the "
            f"largest layer made whole), but only {size(allowed)} is "
            f"{'allowed' if limits.max_memory is not None else 'free'}",
            spec.model.loc,
            "Start more ranks (torchrun --nproc-per-node), or on more machines.",
        )
    seed = agree_seed(_init_seed(seed))
    if progress_note is not None and rank() == 0:
        progress_note(stream_plan, need)
    return make_shards(planned, stream_plan, folder, seed=seed, scheme=scheme_label)


def rank_memory(stream_plan: StreamPlan, ranks: int) -> int:
    """What one rank holds at most: its rows of every tensor (DCP saves them all at once),
    and the largest layer made whole, or chunk, beside them."""
    return -(-stream_plan.total // ranks) + stream_plan.largest_unit


def _require_rules(rules: list[Rule]) -> None:
    if not rules:
        raise OptionError(
            "nothing to initialize: give --scheme, or init: rules in the spec",
            hint="For example: netinspect init model.yaml --scheme xavier",
        )


def _init_seed(seed: int | None) -> int:
    """The seed given (0 to 2^64 - 1), or one drawn."""
    if seed is not None and not 0 <= seed < 2**64:
        raise OptionError(f"the seed {seed} is not from 0 to 2^64 - 1", Location("--seed"))
    return random.SystemRandom().randrange(2**32) if seed is None else seed


def _tie_names(model: CompiledModel) -> list[list[str]]:
    from netinspect.analysis.tensors import alias_groups

    named = model.module.named_parameters(remove_duplicate=False)
    return [names for names, _ in alias_groups(named) if len(names) > 1]


def save_weights(
    model: CompiledModel, path: str, report: InitReport, *, force: bool = False
) -> None:
    """The initialized weights as safetensors, tied tensors stored once (see ``files``)."""
    from netinspect.files import save_weights as save
    from netinspect.randomness import RNG_VERSION

    metadata = {"seed": str(report.seed), "scheme": report.scheme, "rng": RNG_VERSION}
    save(model.module, path, metadata, force)
