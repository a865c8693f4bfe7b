"""Spec model to an ``nn.Sequential`` tree, built on the meta device by default.

On ``torch.device("meta")`` parameters have shapes and dtypes but no storage, so a
70-billion-parameter model compiles in a fraction of a second and allocates nothing.
``blocks:`` are built afresh at every use; ``shared:`` entries once, then reused, so every
use is the same object and its parameters are tied; ``ties:`` then make single parameters
of different modules one ``Parameter``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import torch
from torch import nn

from netinspect.errors import LimitError, Location, SpecError
from netinspect.layers import build_layer, copier
from netinspect.limits import Limits
from netinspect.spec import (
    BlockUse,
    Child,
    Layer,
    LayerCall,
    Repeat,
    Sequence,
    SharedUse,
    Spec,
    Tie,
    count_modules,
    did_you_mean,
)

#: Default cap on the modules a spec may expand to (``--max-modules`` raises it).
DEFAULT_MAX_MODULES = Limits.max_modules

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int64": torch.int64,
    "int32": torch.int32,
    "int16": torch.int16,
    "int8": torch.int8,
    "uint8": torch.uint8,
    "bool": torch.bool,
}


@dataclass
class CompiledModel:
    """The built model and where in the spec each of its modules came from. From a spec the
    module is an ``nn.Sequential``; from a Python target (``module:callable``) any module,
    with no spec."""

    name: str
    module: nn.Module
    spec: Spec | None
    origins: dict[int, Location] = field(default_factory=dict)

    def origin(self, module: nn.Module) -> Location | None:
        """The spec location that defines ``module`` (by identity), if it came from the spec."""
        return self.origins.get(id(module))


def compile_spec(
    spec: Spec,
    device: str = "meta",
    max_modules: int = DEFAULT_MAX_MODULES,
    *,
    copy_layers: bool = True,
    uninitialized: Collection[str] = (),
) -> CompiledModel:
    """Build the model a spec describes.

    The module count is checked before anything is built, so ``repeat: 100000000`` fails
    in microseconds with a clear message instead of filling memory. On meta, repeats of an
    identical layer are fresh copies of the first (``copy_layers``), which is several times
    faster than constructing each; the model is the same either way. On a real device, the
    layers at the paths in ``uninitialized`` get memory without their default init: for
    ``init``, whose schemes will overwrite them (see ``analysis.init.overwritten_layers``).
    """
    n_modules = count_modules(spec)
    if n_modules > max_modules:
        raise LimitError(
            f"the model expands to {n_modules:,} modules, more than the limit of {max_modules:,}",
            spec.model.loc,
            "Raise the limit with --max-modules if the model is really this large.",
        )
    builder = _Builder(spec, torch.device(device), copy_layers, frozenset(uninitialized))
    built = builder.build(spec.model, "")
    # `model: ReLU` is a one-layer model; the result is always an nn.Sequential.
    root = built if isinstance(built, nn.Sequential) else nn.Sequential(built)
    builder.record(root, spec.model)
    if spec.dtype != "float32":
        root.to(dtype=DTYPES[spec.dtype])  # in place: Parameter identity (ties) is preserved
    for tie in spec.ties:
        _apply_tie(root, tie)
    return CompiledModel(spec.name, root, spec, builder.origins)


class _Builder:
    def __init__(
        self,
        spec: Spec,
        device: torch.device,
        copy_layers: bool = True,
        uninitialized: frozenset[str] = frozenset(),
    ):
        self.spec = spec
        self.uninitialized = uninitialized
        self.device = device
        self.shared: dict[str, nn.Module] = {}
        self.origins: dict[int, Location] = {}
        # On meta, the first layer built from a call is the prototype of every later
        # identical call, which gets a fresh copy of it (see layers.copier).
        self.copy_layers = copy_layers and device.type == "meta"
        self.copiers: dict[tuple[str, str, str], Callable[[], nn.Module] | None] = {}

    def record(self, module: nn.Module, layer: Layer) -> nn.Module:
        self.origins.setdefault(id(module), layer.loc)
        return module

    def build(self, layer: Layer, path: str) -> nn.Module:
        """The module for ``layer``, which goes at ``path`` (its first path, if shared)."""
        if isinstance(layer, LayerCall):
            return self.record(self.layer(layer, path), layer)
        if isinstance(layer, BlockUse):
            return self.build(self.spec.blocks[layer.name], path)  # fresh at every use
        if isinstance(layer, SharedUse):
            if layer.name not in self.shared:
                self.shared[layer.name] = self.build(self.spec.shared[layer.name], path)
            return self.shared[layer.name]
        return self.record(self.sequence(layer, path), layer)

    def layer(self, call: LayerCall, path: str) -> nn.Module:
        if path in self.uninitialized and self.device.type != "meta":
            return build_layer(call, torch.device("meta")).to_empty(device=self.device)
        if not self.copy_layers:
            return build_layer(call, self.device)
        key = (call.cls_name, repr(call.args), repr(call.kwargs))  # repr: 1, 1.0, True differ
        if key not in self.copiers:
            module = build_layer(call, self.device)
            self.copiers[key] = copier(module)  # None: this layer cannot be copied
            return module
        make = self.copiers[key]
        return make() if make is not None else build_layer(call, self.device)

    def sequence(self, seq: Sequence, path: str) -> nn.Sequential:
        module = nn.Sequential()
        index = 0  # position among the expanded children: the default child name
        for item in seq.items:
            if isinstance(item, Child):
                name = item.name or str(index)
                self.add(module, name, self.build(item.layer, _join(path, name)), item.loc)
                index += 1
            else:
                self.add_repeat(module, item, index, path)
                index += item.count
        return module

    def add_repeat(self, module: nn.Sequential, repeat: Repeat, first: int, path: str) -> None:
        for name in repeat.names(first):
            self.add(module, name, self.build(repeat.layer, _join(path, name)), repeat.loc)

    def add(self, parent: nn.Sequential, name: str, child: nn.Module, loc: Location) -> None:
        if name in parent._modules:
            raise SpecError(
                f"two children of one block are both named {name!r}",
                loc,
                "Child names in a block must differ; list items are named by position.",
            )
        parent.add_module(name, child)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _apply_tie(root: nn.Module, tie: Tie) -> None:
    """Make every later parameter in ``tie`` the very same Parameter as the first."""
    names = dict(root.named_parameters(remove_duplicate=False))
    first_name, first_loc = tie.names[0], tie.locs[0]
    first = _tie_target(names, first_name, first_loc)
    for name, loc in zip(tie.names[1:], tie.locs[1:], strict=False):
        other = _tie_target(names, name, loc)
        if other.shape != first.shape or other.dtype != first.dtype:
            raise SpecError(
                f"cannot tie {name} {_describe_param(other)} to {first_name} "
                f"{_describe_param(first)}: tied parameters need the same shape and dtype",
                loc,
            )
        owner_path, _, attr = name.rpartition(".")
        owner = root.get_submodule(owner_path) if owner_path else root
        owner._parameters[attr] = first  # the same Parameter object: a real tie


def _describe_param(p: nn.Parameter) -> str:
    return f"[{', '.join(map(str, p.shape))}] {str(p.dtype).removeprefix('torch.')}"


def _tie_target(names: dict[str, nn.Parameter], name: str, loc: Location) -> nn.Parameter:
    param = names.get(name)
    if param is None:
        raise SpecError(
            f"ties: the model has no parameter {name!r}", loc, did_you_mean(name, names)
        )
    if isinstance(param, nn.parameter.UninitializedParameter):
        raise SpecError(
            f"ties: {name!r} belongs to a lazy layer and has no shape yet; "
            "tie parameters of layers whose sizes are given",
            loc,
        )
    return param
