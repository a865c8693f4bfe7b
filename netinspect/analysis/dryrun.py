"""One forward pass on an example input: per-call shapes, FLOPs, lazy layers materialized.

On the meta device the pass computes shapes only, so a 75-billion-parameter model runs in
seconds with no parameter memory. Shapes are recorded per *call site*: a module used at
several paths (``shared:``) is recorded at each path, with the shapes of that call, which
``named_modules()`` alone cannot give (it drops the repeats).

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``; a call's FLOPs are the
count's growth during the call, so a block's FLOPs include its children's. When every block
is a plain ``nn.Sequential``, the counter runs around each leaf call only; otherwise around
the whole pass, so FLOPs in a block's own forward count too.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_leaves

from netinspect._fast import enabled
from netinspect._fast.leafcalls import LeafCalls, counts_in_leaves
from netinspect.analysis.strict import RealDtypes
from netinspect.analysis.tensors import is_lazy, tensor_key
from netinspect.analysis.values import MAX_KNOWN, KnownValues
from netinspect.dtypes import dtype_name
from netinspect.errors import ForwardError, Location, MetaValueError, NetinspectError


@dataclass(frozen=True)
class CallRecord:
    path: str  # where the module was called from: "" for the root
    type: str  # class name after the pass (a LazyLinear has become a Linear)
    depth: int
    input: tuple[int, ...] | None  # the first tensor argument's shape
    output: tuple[int, ...] | None  # the first tensor in the output
    params: int  # elements of the module's distinct parameters, after materialization
    flops: int  # FLOPs of this call, its children's included
    shared: bool = False  # this module object is called at more than one place
    tied: bool = False  # one of its own tensors is also another module's (a tied head)


@dataclass(frozen=True)
class Materialized:
    name: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class InputRecord:
    name: str | None  # None: passed by position
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class Example:
    """The arguments of the forward pass: tensors by position, then by keyword."""

    args: tuple[torch.Tensor, ...]
    kwargs: Mapping[str, torch.Tensor] = field(default_factory=dict)
    # Meta inputs whose values are known (a mask's ones), each with them on cpu: the pass
    # answers a forward that reads them (see values.py).
    known: tuple[tuple[torch.Tensor, torch.Tensor], ...] = ()

    def named(self) -> list[tuple[str | None, torch.Tensor]]:
        return [*((None, t) for t in self.args), *self.kwargs.items()]

    def records(self) -> tuple[InputRecord, ...]:
        return tuple(InputRecord(n, tuple(t.shape), dtype_name(t.dtype)) for n, t in self.named())

    def describe(self) -> str:
        """``[2, 16]`` for one input, ``[2, 16], attention_mask=[2, 16]`` for several."""
        return ", ".join(
            f"{n}={list(t.shape)}" if n else str(list(t.shape)) for n, t in self.named()
        )


@dataclass(frozen=True)
class DryRunReport:
    model: str
    device: str
    input: tuple[int, ...]  # the first input's shape (see inputs for all of them)
    input_dtype: str
    output: tuple[int, ...] | None
    layers: tuple[CallRecord, ...]
    materialized: tuple[Materialized, ...]
    total: int
    flops: int
    # Calls whose FLOPs could not be counted: a block that ran none of its layers with
    # parameters and counted nothing (its work went to an operator FlopCounterMode has no
    # formula for, as a fused kernel would).
    uncounted: tuple[str, ...] = ()
    inputs: tuple[InputRecord, ...] = ()  # every input, positional ones first


@dataclass(slots=True)
class _Frame:
    """One call in progress: where it was called from and what has been recorded so far."""

    path: str
    module: nn.Module
    record: dict[str, Any]
    used_names: set[str] | None = None  # children already called by this call
    children: list[tuple[str, nn.Module | None]] | None = None  # read at the first child call
    cursor: int = 0  # where to look first for the next child: Sequential calls them in order


class _Pass:
    """One forward pass that records every call with its call-site path, shapes and FLOPs.

    Each module's forward is wrapped for the pass (and restored after). With ``fast`` (and
    fast paths on), identical leaf calls on meta are answered from memory and FLOPs are
    counted around leaf calls when that gives the same total (see ``_fast.leafcalls``).
    Lazy layers always run: their first call gives them their shapes. Without ``fast``,
    every call runs under one counter: the reference the fast pass is tested against.
    """

    def __init__(self, module: nn.Module, fast: bool = True):
        from torch.utils.flop_counter import FlopCounterMode

        self.module = module
        self.fast = fast and enabled()
        self.records: list[dict[str, Any]] = []
        self.stack: list[_Frame] = []
        self.modules = list({id(m): m for m in module.modules()}.values())
        self.per_leaf = self.fast and counts_in_leaves(self.modules)
        self.counter = FlopCounterMode(display=False)
        self.counted = 0  # FLOPs counted around single leaf calls, and answered from memory
        self.wrapped: list[tuple[nn.Module, Any, bool]] = []  # module, own forward, had one
        self.leaf_calls = LeafCalls()
        self.first_path: dict[int, str] | None = None  # made when a call needs it
        self.sizes: dict[int, dict[Hashable, int]] = {}  # see tensors()
        self.meta = False  # set by run(): whether the pass is on meta

    def flops(self) -> int:
        """FLOPs so far."""
        if self.per_leaf:
            return self.counted
        return int(self.counter.get_total_flops()) + self.counted

    def call_path(self, mod: nn.Module) -> str:
        if not self.stack:
            return ""
        parent = self.stack[-1]
        if parent.children is None or parent.used_names is None:
            parent.children = list(parent.module._modules.items())
            parent.used_names = set()
        children = parent.children
        for offset in range(len(children)):
            index = (parent.cursor + offset) % len(children)
            name, child = children[index]
            if child is mod and name not in parent.used_names:
                parent.used_names.add(name)
                parent.cursor = index + 1
                return f"{parent.path}.{name}" if parent.path else name
        # Called from somewhere other than its parent's children: its first path.
        if self.first_path is None:
            named = self.module.named_modules(remove_duplicate=False)
            self.first_path = {id(m): path for path, m in reversed(list(named))}
        return self.first_path.get(id(mod), "?")

    def wrap(self, mod: nn.Module) -> None:
        original = mod.forward  # the class's, or one the user set on the instance
        cacheable = self.fast and not mod._modules and "forward" not in mod.__dict__
        leaf = not mod._modules

        def forward(*args: Any, **kwargs: Any) -> Any:
            path = self.call_path(mod)
            record: dict[str, Any] = {
                "path": path,
                "module": mod,
                "depth": len(self.stack),
                "input": _first_shape(args) or (_first_shape(kwargs) if kwargs else None),
                "flops_before": self.flops(),
            }
            self.records.append(record)
            frame = _Frame(path, mod, record)
            self.stack.append(frame)
            if isinstance(mod, nn.RNNBase) and _long_meta_sequence(mod, args):
                output = self.rnn_call(mod, original, args, kwargs)
            elif cacheable:
                output = self.cached_call(mod, original, args, kwargs)
            elif leaf and self.per_leaf:
                output = self.counted_call(original, args, kwargs)[0]
            else:
                output = original(*args, **kwargs)
            self.stack.pop()
            record["output"] = _first_shape(output)
            record["flops"] = self.flops() - record["flops_before"]
            if not record["flops"] and not leaf and _skipped_its_layers(frame):
                record["uncounted"] = True
            return output

        self.wrapped.append((mod, mod.__dict__.get("forward"), "forward" in mod.__dict__))
        mod.__dict__["forward"] = forward  # plain attribute: Module.__setattr__ is slow

    def counted_call(
        self, original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, int]:
        """Run one call and add its FLOPs: under its own counter when counting per leaf."""
        if not self.per_leaf:
            before = self.counter.get_total_flops()
            output = original(*args, **kwargs)
            return output, int(self.counter.get_total_flops() - before)
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter, self.strict():
            output = original(*args, **kwargs)
        flops = int(counter.get_total_flops())
        self.counted += flops
        return output, flops

    def strict(self) -> contextlib.AbstractContextManager[object]:
        """On meta, refuse what a real kernel would (see strict.py); real kernels check.
        Counting per leaf, only the leaf calls that really run pay for it (not the
        12,000 repeats answered from memory); otherwise the whole pass does."""
        return RealDtypes() if self.meta else contextlib.nullcontext()

    def rnn_call(
        self,
        mod: nn.RNNBase,
        original: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """An RNN, LSTM or GRU over a long sequence on meta, without stepping through it.

        torch's meta RNN runs its time loop in Python, so ``input: [100000, 1, 4]`` took
        minutes for shapes alone. Every step does the same work: this runs one step and
        two, gives the output the full length, and counts ``f1 + (L - 1) (f2 - f1)``
        FLOPs, which is what the full loop counts (tested against it).
        """
        x = args[0]
        time = 1 if mod.batch_first and x.dim() == 3 else 0
        length = x.shape[time]
        start = self.flops()
        one_step, _ = self.counted_call(original, (x.narrow(time, 0, 1), *args[1:]), kwargs)
        middle = self.flops()
        self.counted_call(original, (x.narrow(time, 0, 2), *args[1:]), kwargs)
        f1, f2 = middle - start, self.flops() - middle
        self.counted += f1 + (length - 1) * (f2 - f1) - (f1 + f2)  # net: the full length
        output, hidden = one_step
        shape = list(output.shape)
        shape[time] = length
        return torch.empty(shape, dtype=output.dtype, device="meta"), hidden

    def cached_call(
        self,
        mod: nn.Module,
        original: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        key = self.leaf_calls.key(mod, args, kwargs)
        if key is None:  # lazy, or not plain, or real data: run it
            return self.counted_call(original, args, kwargs)[0]
        answer = self.leaf_calls.answer(key)
        if answer is not None:
            output, flops = answer
            self.counted += flops  # no counter saw this call
            return output
        output, flops = self.counted_call(original, args, kwargs)
        self.leaf_calls.remember(key, output, flops)
        return output

    def run(self, example: Example) -> Any:
        """The forward pass in eval mode without autograd; forwards and each module's
        training flag are restored afterwards."""
        modes = [(m, m.training) for m in self.modules]
        for m in self.modules:
            self.wrap(m)
        _set_training([(m, False) for m in self.modules])  # batch norm uses its stats as is
        self.meta = example.named()[0][1].device.type == "meta"
        known = KnownValues(example.known) if example.known else contextlib.nullcontext()
        try:
            with torch.no_grad(), _countable_paths(), known:
                if self.per_leaf:
                    return self.module(*example.args, **example.kwargs)
                with self.counter, self.strict():
                    return self.module(*example.args, **example.kwargs)
        finally:
            for m, original, had_own in self.wrapped:
                if had_own:
                    m.__dict__["forward"] = original
                else:
                    del m.__dict__["forward"]
            _set_training(modes)

    def tensors(self, mod: nn.Module) -> dict[Hashable, int]:
        """Distinct parameters of ``mod`` and its children, by identity, with their sizes;
        built bottom-up once per module (after the pass, so materialized layers count)."""
        found = self.sizes.get(id(mod))
        if found is None:
            found = {}
            for p in mod._parameters.values():
                if p is not None:
                    found[tensor_key(p)] = 0 if is_lazy(p) else p.numel()
            for child in mod._modules.values():
                if child is not None:
                    found.update(self.tensors(child))
            self.sizes[id(mod)] = found
        return found

    def params(self, mod: nn.Module) -> int:
        """Elements of the distinct parameters of ``mod``, its children's included."""
        return sum(self.tensors(mod).values())

    def layers(self) -> tuple[CallRecord, ...]:
        params_of: dict[int, int] = {}  # after the pass, so materialized layers count
        calls_of = Counter(id(r["module"]) for r in self.records)
        owner: dict[int, int] = {}  # a Parameter (tied = the same object) -> its first module
        tied: set[int] = set()
        for m in self.modules:
            for p in m._parameters.values():
                if p is not None and owner.setdefault(id(p), id(m)) != id(m):
                    tied.update((owner[id(p)], id(m)))
        calls = []
        for r in self.records:
            mod = r["module"]
            if id(mod) not in params_of:
                params_of[id(mod)] = self.params(mod)
            calls.append(
                CallRecord(
                    path=r["path"],
                    type=type(mod).__name__,
                    depth=r["depth"],
                    input=r["input"],
                    output=r.get("output"),
                    params=params_of[id(mod)],
                    flops=r.get("flops", 0),
                    shared=calls_of[id(mod)] > 1,
                    tied=id(mod) in tied,
                )
            )
        return tuple(calls)


@contextlib.contextmanager
def _countable_paths() -> Iterator[None]:
    """Keep torch off its fused attention and encoder kernels during the pass.

    In eval mode without autograd on a real device, ``MultiheadAttention`` and
    ``TransformerEncoderLayer`` take torch's "fast path": one fused operator that
    FlopCounterMode has no formula for, so a cpu run counted a third of what meta counts.
    The unfused path computes the same outputs with every product counted; attention
    itself runs by its math backend for the same reason (``_math_attention``). Both
    switches are torch's public API; where a torch lacks one, nothing changes and a block
    left uncounted is reported (``DryRunReport.uncounted``)."""
    with contextlib.ExitStack() as stack:
        mha = getattr(torch.backends, "mha", None)
        get = getattr(mha, "get_fastpath_enabled", None)
        set_ = getattr(mha, "set_fastpath_enabled", None)
        if get is not None and set_ is not None:
            stack.callback(set_, get())
            set_(False)
        attention = _math_attention()
        if attention is not None:
            stack.enter_context(attention)
        yield


def _math_attention() -> contextlib.AbstractContextManager[object] | None:
    """``scaled_dot_product_attention`` by its math backend (two counted matmuls), where
    the cpu's flash kernel is one operator FlopCounterMode does not count; meta takes the
    math path anyway. None where this torch has no ``torch.nn.attention``."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:
        return None
    return sdpa_kernel([SDPBackend.MATH])


def _skipped_its_layers(frame: _Frame) -> bool:
    """Whether a block's call ran none of its children that hold parameters."""
    called = frame.used_names or set()
    return any(
        name not in called and next(child.parameters(), None) is not None
        for name, child in frame.module._modules.items()
        if child is not None
    )


def _set_training(modes: list[tuple[nn.Module, bool]]) -> None:
    """Give each module its flag. ``modes`` is in ``modules()`` order, parents first, so
    where a class overrides ``train`` (which sets its children too) they are set after it;
    otherwise each flag is set directly (``Module.__setattr__`` is slow)."""
    overridden = any(type(m).train is not nn.Module.train for m, _ in modes)
    for m, training in modes:
        if overridden:
            m.train(training)
        else:
            m.__dict__["training"] = training


def _long_meta_sequence(mod: nn.RNNBase, args: tuple[Any, ...]) -> bool:
    """A plain tensor input of more than two time steps, on meta."""
    if not args or type(args[0]) is not torch.Tensor or args[0].device.type != "meta":
        return False
    x = args[0]
    if x.dim() not in (2, 3):
        return False
    return x.shape[1 if mod.batch_first and x.dim() == 3 else 0] > 2


def _first_shape(value: Any) -> tuple[int, ...] | None:
    """Shape of the first tensor in a (possibly nested) call argument or output."""
    if isinstance(value, torch.Tensor):
        return tuple(value.shape)
    if type(value) is tuple and value and isinstance(value[0], torch.Tensor):
        return tuple(value[0].shape)
    for leaf in tree_leaves(value):
        if isinstance(leaf, torch.Tensor):
            return tuple(leaf.shape)
    return None


def example_input(
    shape: tuple[int, ...], dtype: torch.dtype, device: str, model: nn.Module, name: str = ""
) -> torch.Tensor:
    """A tensor to run: none on meta; on a real device, random values, valid indices for an
    integer input, and ones for a mask (an input whose name ends in ``mask``: 1 keeps a
    position, as transformers' ``attention_mask`` means)."""
    if device == "meta":
        return torch.empty(shape, dtype=dtype, device="meta")
    if _is_mask(name):
        return torch.ones(shape, dtype=dtype)
    if dtype.is_floating_point:
        return torch.randn(shape, dtype=dtype)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, dtype=torch.uint8).to(torch.bool)
    # Integer inputs are indices: keep them below every Embedding's vocabulary size, and
    # within the dtype (an int8 input holds at most 127).
    vocab = [
        m.num_embeddings for m in model.modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag))
    ]
    high = min(min(vocab, default=2), torch.iinfo(dtype).max + 1)
    return torch.randint(0, high, shape, dtype=dtype)


def example_inputs(
    inputs: Sequence[tuple[str | None, tuple[int, ...], torch.dtype]],
    device: str,
    model: nn.Module,
) -> Example:
    """The forward pass's arguments from (keyword or None, shape, dtype), in order."""
    args = [example_input(s, d, device, model) for n, s, d in inputs if n is None]
    kwargs = {n: example_input(s, d, device, model, n) for n, s, d in inputs if n is not None}
    known = [
        (tensor, example_input(tuple(tensor.shape), tensor.dtype, "cpu", model, name))
        for name, tensor in kwargs.items()
        if device == "meta" and _is_mask(name) and tensor.numel() <= MAX_KNOWN
    ]
    return Example(tuple(args), kwargs, tuple(known))


def _is_mask(name: str) -> bool:
    return name.lower().endswith("mask")


def dry_run(
    module: nn.Module,
    example: torch.Tensor | Example,
    model_name: str = "model",
    origin: Callable[[nn.Module], Location | None] = lambda m: None,
    *,
    reuse: bool = True,
) -> DryRunReport:
    """Run ``module`` once on ``example`` (one tensor, or an :class:`Example` of several)
    in eval mode without autograd, and record every call.

    ``origin`` maps a module to its spec location, for shape errors. Lazy parameters are
    materialized in place (that is what a first forward pass does in torch). On meta,
    ``reuse`` runs each distinct leaf call once and answers identical repeats from memory
    (see :class:`_Pass`); the results are the same either way.
    """
    if isinstance(example, torch.Tensor):
        example = Example((example,))
    recorder = _Pass(module, fast=reuse)
    own = (p for m in recorder.modules for p in m._parameters.values())
    lazy = any(p is not None and is_lazy(p) for p in own)
    named_before = module.named_parameters(remove_duplicate=False) if lazy else ()
    lazy_before = {name for name, p in named_before if is_lazy(p)}
    try:
        output = recorder.run(example)
    except NetinspectError:
        raise
    except Exception as exc:  # the input does not fit a layer: locate the innermost call
        raise _forward_error(
            exc, recorder.stack, root=module, example=example, model_name=model_name, origin=origin
        ) from None

    materialized: dict[Any, Materialized] = {}  # a shared lazy tensor is listed once
    named_after = module.named_parameters(remove_duplicate=False) if lazy_before else ()
    for name, p in named_after:
        if name in lazy_before:
            materialized.setdefault(tensor_key(p), Materialized(name, tuple(p.shape)))
    inputs = example.records()
    return DryRunReport(
        model=model_name,
        device=example.named()[0][1].device.type,
        input=inputs[0].shape,
        input_dtype=inputs[0].dtype,
        output=_first_shape(output),
        layers=recorder.layers(),
        materialized=tuple(materialized.values()),
        total=recorder.params(module),
        flops=recorder.flops(),
        uncounted=tuple(r["path"] or model_name for r in recorder.records if r.get("uncounted")),
        inputs=inputs,
    )


# What real kernels (and strict.py) say when dtypes, not sizes, are the problem.
_DTYPE_WORDS = (
    "dtype",
    "scalar type",
    "not implemented for",
    "Boolean",
    "bool input",
    "Input type (",
)


# Messages that say an integer (index) input was wanted: an Embedding given floats.
_INDEX_WORDS = ("indices", "scalar type Long", "expected Long")
_MISSING_ARGUMENT = re.compile(r"missing (\d+) required positional arguments?: (.+)")
_META_READ = "cannot be called on meta tensors"  # torch's words for item() on meta
_UNEXPECTED_ARGUMENT = re.compile(r"unexpected keyword argument ('\w+')")


def _hint(reason: str) -> str:
    """What to do, by what the failure says: the input's dtype, more inputs, or sizes."""
    wants_indices = any(word in reason for word in _INDEX_WORDS) and "float" in reason.lower()
    if wants_indices:
        return (
            "This layer takes indices: give --input-dtype int64 (or dtype: int64 under the "
            "spec's input:)."
        )
    if any(word in reason for word in _DTYPE_WORDS):
        return (
            "Check the input's dtype (--input-dtype, or dtype: under the spec's input:) against "
            "the parameters' (the spec's dtype: or --dtype)."
        )
    missing = _MISSING_ARGUMENT.search(reason)
    if missing:
        names = re.findall(r"'(\w+)'", missing.group(2))
        first = names[0] if names else "NAME"
        return (
            f"Its forward() also takes {missing.group(2)}: give each with --input "
            f"{first}=SHAPE[:DTYPE] (repeatable), or list them under the spec's input:."
        )
    unexpected = _UNEXPECTED_ARGUMENT.search(reason)
    if unexpected:
        return (
            f"Its forward() has no argument {unexpected.group(1)}: name inputs as forward() "
            "does, or give them by position (--input SHAPE, in order)."
        )
    return "Check the sizes of this layer against the layer before it, or the --input shape."


def _forward_error(
    exc: Exception,
    stack: list[_Frame],
    *,
    root: nn.Module,
    example: Example,
    model_name: str,
    origin: Callable[[nn.Module], Location | None],
) -> ForwardError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if not stack:
        return ForwardError(
            f"the input {example.describe()} does not fit {model_name}: {reason}",
            origin(root),
            _hint(reason),
        )
    frame = stack[-1]
    mod = frame.module
    where = f"layer {frame.path}" if frame.path else model_name
    got = frame.record["input"]
    hint = _hint(reason)
    error: type[ForwardError] = ForwardError
    if _META_READ in reason:
        error = MetaValueError
        reason = (
            "its forward reads the values of a tensor, and a meta tensor has none "
            f"(torch: {reason})"
        )
        hint = (
            "On meta, netinspect knows the values of mask inputs only (an input named "
            "...mask is all ones); run this model on a real device, e.g. --device cpu."
        )
    return error(
        f"{where}, {type(mod).__name__}({mod.extra_repr()}), got an input of shape "
        f"{list(got) if got is not None else 'none'}: {reason}",
        origin(mod),
        hint,
    )
