"""One forward pass on an example input: per-call shapes, FLOPs, lazy layers materialized.

On the meta device the pass computes shapes only, so a 75-billion-parameter model runs in
seconds with no parameter memory. Shapes are recorded per *call site*: a module used at
several paths (``shared:``) is recorded at each path, with the shapes of that call, which
``named_modules()`` alone cannot give (it drops the repeats).

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``; a call's FLOPs are the
counter's growth between its pre- and post-hook, so a block's FLOPs include its children's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from netinspect.analysis.tensors import distinct_numel, dtype_name, is_lazy, tensor_key
from netinspect.errors import Location, NetinspectError

if TYPE_CHECKING:  # imported when a pass runs: it costs ~0.17 s, which params never needs
    from torch.utils.flop_counter import FlopCounterMode


class ForwardError(NetinspectError):
    """The example input does not fit the model: a shape, rank or dtype mismatch."""


@dataclass(frozen=True)
class CallRecord:
    path: str  # where the module was called from: "" for the root
    type: str  # class name after the pass (a LazyLinear has become a Linear)
    depth: int
    input: tuple[int, ...] | None  # the first tensor argument's shape
    output: tuple[int, ...] | None  # the first tensor in the output
    params: int  # elements of the module's distinct parameters, after materialization
    flops: int  # FLOPs of this call, its children's included


@dataclass(frozen=True)
class Materialized:
    name: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class DryRunReport:
    model: str
    device: str
    input: tuple[int, ...]
    input_dtype: str
    output: tuple[int, ...] | None
    layers: tuple[CallRecord, ...]
    materialized: tuple[Materialized, ...]
    total: int
    flops: int


@dataclass
class _Frame:
    """One call in progress: where it was called from and what has been recorded so far."""

    path: str
    module: nn.Module
    record: dict[str, Any]
    used_names: set[str] = field(default_factory=set)  # children already called by this call


def _signature(value: Any) -> Hashable:
    """What a call's result on meta depends on: tensor shapes, strides and dtypes, and the
    other arguments as they are."""
    leaves, spec = torch.utils._pytree.tree_flatten(value)
    parts: list[Hashable] = [str(spec)]
    for leaf in leaves:
        if isinstance(leaf, torch.Tensor):
            parts.append((tuple(leaf.shape), leaf.stride(), leaf.dtype, leaf.device.type))
        else:
            parts.append(repr(leaf))
    return tuple(parts)


def _as_meta(value: Any) -> Any:
    """A fresh meta tensor (same shape, strides, dtype) for every tensor in ``value``."""

    def fresh(leaf: Any) -> Any:
        if isinstance(leaf, torch.Tensor):
            return torch.empty_strided(leaf.shape, leaf.stride(), dtype=leaf.dtype, device="meta")
        return leaf

    return torch.utils._pytree.tree_map(fresh, value)


class _LeafCache:
    """Runs each distinct leaf call once on meta and answers identical calls from memory.

    Real models repeat identical layers thousands of times, and a meta kernel still costs
    a fraction of a millisecond (LayerNorm about 1 ms). A leaf's result on meta depends only
    on its class, arguments, parameter and buffer shapes and dtypes, and its inputs' shapes,
    strides and dtypes, so a repeat gets a fresh meta tensor of the recorded shape and adds
    the recorded FLOPs. Lazy layers always run: their first call gives them their shapes.
    """

    def __init__(self, counter: FlopCounterMode):
        self.counter = counter
        self.results: dict[Hashable, tuple[Any, int]] = {}
        self.flops = 0  # FLOPs of the calls answered from memory
        self.wrapped: list[nn.Module] = []

    def key(self, mod: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable:
        tensors = (*mod.named_parameters(recurse=False), *mod.named_buffers(recurse=False))
        state = tuple((n, tuple(t.shape), t.dtype) for n, t in tensors if t is not None)
        return (type(mod), mod.extra_repr(), state, _signature((args, kwargs)))

    def wrap(self, mod: nn.Module) -> None:
        if mod._modules or "forward" in mod.__dict__:  # blocks run their children; keep any
            return  # forward the user set on the instance
        if any(is_lazy(t) for t in mod.parameters(recurse=False)):
            return
        original = type(mod).forward

        def forward(*args: Any, **kwargs: Any) -> Any:
            key = self.key(mod, args, kwargs)
            if key in self.results:
                output, flops = self.results[key]
                self.flops += flops
                return _as_meta(output)
            before = self.counter.get_total_flops()
            output = original(mod, *args, **kwargs)
            self.results[key] = (_as_meta(output), int(self.counter.get_total_flops() - before))
            return output

        mod.forward = forward  # restored by unwrap_all
        self.wrapped.append(mod)

    def unwrap_all(self) -> None:
        for mod in self.wrapped:
            del mod.forward
        self.wrapped.clear()


class _CallRecorder:
    """Forward hooks that record every call with its call-site path, shapes and FLOPs."""

    def __init__(self, module: nn.Module):
        self.module = module
        self.records: list[dict[str, Any]] = []
        self.stack: list[_Frame] = []
        from torch.utils.flop_counter import FlopCounterMode

        self.counter = FlopCounterMode(display=False)
        self.cache = _LeafCache(self.counter)
        modules = list(module.named_modules(remove_duplicate=False))
        self.first_path: dict[int, str] = {id(m): path for path, m in reversed(modules)}

    def call_path(self, mod: nn.Module) -> str:
        if not self.stack:
            return ""
        parent = self.stack[-1]
        for name, child in parent.module._modules.items():
            if child is mod and name not in parent.used_names:
                parent.used_names.add(name)
                return f"{parent.path}.{name}" if parent.path else name
        # Called from somewhere other than its parent's children: its first path.
        return self.first_path.get(id(mod), "?")

    def pre_hook(self, mod: nn.Module, args: tuple[Any, ...]) -> None:
        path = self.call_path(mod)
        record = {
            "path": path,
            "module": mod,
            "depth": len(self.stack),
            "input": _first_shape(args),
            "flops_before": self.flops(),
        }
        self.records.append(record)
        self.stack.append(_Frame(path, mod, record))

    def post_hook(self, mod: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        record = self.stack.pop().record
        record["output"] = _first_shape(output)
        record["flops"] = self.flops() - record["flops_before"]

    def flops(self) -> int:
        """FLOPs so far: those counted, and those of calls answered from the cache."""
        return int(self.counter.get_total_flops()) + self.cache.flops

    def run(self, example: torch.Tensor, reuse: bool = True) -> Any:
        """The forward pass in eval mode without autograd; hooks, forwards and mode are
        restored afterwards."""
        handles = []
        modules = list({id(m): m for m in self.module.modules()}.values())
        for m in modules:
            handles.append(m.register_forward_pre_hook(self.pre_hook))
            handles.append(m.register_forward_hook(self.post_hook))
        if reuse and example.device.type == "meta":  # only shapes flow: identical calls run once
            for m in modules:
                self.cache.wrap(m)
        was_training = self.module.training
        self.module.eval()  # batch norm uses, and does not update, its running statistics
        try:
            with torch.no_grad(), self.counter:
                return self.module(example)
        finally:
            for h in handles:
                h.remove()
            self.cache.unwrap_all()
            self.module.train(was_training)

    def layers(self) -> tuple[CallRecord, ...]:
        params_of: dict[int, int] = {}  # after the pass, so materialized layers count
        calls = []
        for r in self.records:
            mod = r["module"]
            if id(mod) not in params_of:
                params_of[id(mod)] = distinct_numel(mod.parameters())
            calls.append(
                CallRecord(
                    path=r["path"],
                    type=type(mod).__name__,
                    depth=r["depth"],
                    input=r["input"],
                    output=r.get("output"),
                    params=params_of[id(mod)],
                    flops=r.get("flops", 0),
                )
            )
        return tuple(calls)


def _first_shape(value: Any) -> tuple[int, ...] | None:
    """Shape of the first tensor in a (possibly nested) call argument or output."""
    for leaf in torch.utils._pytree.tree_leaves(value):
        if isinstance(leaf, torch.Tensor):
            return tuple(leaf.shape)
    return None


def example_input(
    shape: tuple[int, ...], dtype: torch.dtype, device: str, model: nn.Module
) -> torch.Tensor:
    """A tensor to run: random values on cpu (valid indices for integer inputs), none on meta."""
    if device == "meta":
        return torch.empty(shape, dtype=dtype, device="meta")
    if dtype.is_floating_point:
        return torch.randn(shape, dtype=dtype)
    # Integer inputs are indices: keep them below every Embedding's vocabulary size.
    vocab = [
        m.num_embeddings for m in model.modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag))
    ]
    return torch.randint(0, min(vocab, default=2), shape, dtype=dtype)


def dry_run(
    module: nn.Module,
    example: torch.Tensor,
    model_name: str = "model",
    origin: Callable[[nn.Module], Location | None] = lambda m: None,
    *,
    reuse: bool = True,
) -> DryRunReport:
    """Run ``module`` once on ``example`` in eval mode without autograd, and record every call.

    ``origin`` maps a module to its spec location, for shape errors. Lazy parameters are
    materialized in place (that is what a first forward pass does in torch). On meta,
    ``reuse`` runs each distinct leaf call once and answers identical repeats from memory
    (see :class:`_LeafCache`); the results are the same either way.
    """
    named_before = module.named_parameters(remove_duplicate=False)
    lazy_before = {name for name, p in named_before if is_lazy(p)}
    recorder = _CallRecorder(module)
    try:
        output = recorder.run(example, reuse)
    except NetinspectError:
        raise
    except Exception as exc:  # the input does not fit a layer: locate the innermost call
        raise _forward_error(
            exc, recorder.stack, root=module, example=example, model_name=model_name, origin=origin
        ) from None

    materialized: dict[Any, Materialized] = {}  # a shared lazy tensor is listed once
    for name, p in module.named_parameters(remove_duplicate=False):
        if name in lazy_before:
            materialized.setdefault(tensor_key(p), Materialized(name, tuple(p.shape)))
    return DryRunReport(
        model=model_name,
        device=example.device.type,
        input=tuple(example.shape),
        input_dtype=dtype_name(example.dtype),
        output=_first_shape(output),
        layers=recorder.layers(),
        materialized=tuple(materialized.values()),
        total=distinct_numel(module.parameters()),
        flops=recorder.flops(),
    )


def _forward_error(
    exc: Exception,
    stack: list[_Frame],
    *,
    root: nn.Module,
    example: torch.Tensor,
    model_name: str,
    origin: Callable[[nn.Module], Location | None],
) -> ForwardError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if not stack:
        return ForwardError(
            f"the input {list(example.shape)} does not fit {model_name}: {reason}", origin(root)
        )
    frame = stack[-1]
    mod = frame.module
    where = f"layer {frame.path}" if frame.path else model_name
    got = frame.record["input"]
    return ForwardError(
        f"{where}, {type(mod).__name__}({mod.extra_repr()}), got an input of shape "
        f"{list(got) if got is not None else 'none'}: {reason}",
        origin(mod),
        "Check the sizes of this layer against the layer before it, or the --input shape.",
    )
