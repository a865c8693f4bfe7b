"""One forward pass on an example input: per-call shapes, FLOPs, lazy layers materialized.

On the meta device the pass computes shapes only, so a 75-billion-parameter model runs in
seconds with no parameter memory. Shapes are recorded per *call site*: a module used at
several paths (``shared:``) is recorded at each path, with the shapes of that call, which
``named_modules()`` alone cannot give (it drops the repeats).

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``; a call's FLOPs are the
counter's growth between its pre- and post-hook, so a block's FLOPs include its children's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from netinspect.analysis.tensors import distinct_numel, dtype_name, is_lazy, tensor_key
from netinspect.errors import Location, NetinspectError


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


class _CallRecorder:
    """Forward hooks that record every call with its call-site path, shapes and FLOPs."""

    def __init__(self, module: nn.Module):
        self.module = module
        self.records: list[dict[str, Any]] = []
        self.stack: list[_Frame] = []
        self.counter = FlopCounterMode(display=False)
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
            "flops_before": self.counter.get_total_flops(),
        }
        self.records.append(record)
        self.stack.append(_Frame(path, mod, record))

    def post_hook(self, mod: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        record = self.stack.pop().record
        record["output"] = _first_shape(output)
        record["flops"] = self.counter.get_total_flops() - record["flops_before"]

    def run(self, example: torch.Tensor) -> Any:
        """The forward pass in eval mode without autograd; hooks and mode are restored."""
        handles = []
        for m in {id(m): m for m in self.module.modules()}.values():
            handles.append(m.register_forward_pre_hook(self.pre_hook))
            handles.append(m.register_forward_hook(self.post_hook))
        was_training = self.module.training
        self.module.eval()  # batch norm uses, and does not update, its running statistics
        try:
            with torch.no_grad(), self.counter:
                return self.module(example)
        finally:
            for h in handles:
                h.remove()
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
) -> DryRunReport:
    """Run ``module`` once on ``example`` in eval mode without autograd, and record every call.

    ``origin`` maps a module to its spec location, for shape errors. Lazy parameters are
    materialized in place (that is what a first forward pass does in torch).
    """
    named_before = module.named_parameters(remove_duplicate=False)
    lazy_before = {name for name, p in named_before if is_lazy(p)}
    recorder = _CallRecorder(module)
    try:
        output = recorder.run(example)
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
        flops=recorder.counter.get_total_flops(),
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
