"""Spec model to an ``nn.Sequential`` tree, built on the meta device by default.

On ``torch.device("meta")`` parameters have shapes and dtypes but no storage, so a
70-billion-parameter model compiles in a fraction of a second and allocates nothing.
``blocks:`` are built afresh at every use; ``shared:`` entries once, then reused, so every
use is the same object and its parameters are tied; ``ties:`` then make single parameters
of different modules one ``Parameter``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import torch
from torch import nn

from netinspect._fast.copier import copier
from netinspect.builder.guard import BuildBudget
from netinspect.builder.registry import Structure, build_layer, structure
from netinspect.dtypes import torch_dtype
from netinspect.errors import LimitError, Location, SpecError
from netinspect.limits import DEFAULT_LIMITS, Limits
from netinspect.spec.model import (
    BlockUse,
    Child,
    Layer,
    LayerCall,
    Repeat,
    Sequence,
    SharedUse,
    Spec,
    Tie,
    did_you_mean,
)
from netinspect.spec.structure import count_modules

DEFAULT_MAX_MODULES = DEFAULT_LIMITS.max_modules


@dataclass
class CompiledModel:
    """The built model and where in the spec each of its modules came from. From a spec the
    module is an ``nn.Sequential``; from a Python target (``module:callable``) any module,
    with no spec."""

    name: str
    module: nn.Module
    spec: Spec | None
    origins: dict[int, Location] = field(default_factory=dict)
    # The spec's layer calls by the path each was built at (a shared one: its first), and
    # for each tensor (by identity) the call's path and its name within that layer: which
    # construction made its values (a tied tensor's: the tie's first name's layer).
    layers: dict[str, LayerCall] = field(default_factory=dict)
    made_by: dict[int, tuple[str, str]] = field(default_factory=dict)

    def origin(self, module: nn.Module) -> Location | None:
        """The spec location that defines ``module`` (by identity), if it came from the spec."""
        return self.origins.get(id(module))


def compile_spec(
    spec: Spec,
    device: str = "meta",
    limits: Limits = DEFAULT_LIMITS,
    *,
    copy_layers: bool = True,
    uninitialized: Collection[str] = (),
    seed: int | None = None,
) -> CompiledModel:
    """Build the model a spec describes, within ``limits``.

    What torch will build is counted before the model is: first the spec's own modules,
    so ``repeat: 100000000`` fails in microseconds; then each distinct layer call's real
    modules and tensors (``layers.structure``: a ``Transformer`` is dozens of modules, an
    ``LSTM`` four tensors a layer), so the model is refused before it is built when it
    exceeds ``max_modules`` or ``max_tensors``. On meta, layers are built under
    ``guard.MetaOnly`` (nothing real, bounded work), and repeats of an identical layer are
    fresh copies of the first (``copy_layers``), several times faster than constructing
    each; the model is the same either way. On a real device, the layers at the paths in
    ``uninitialized`` get memory without their default init: for ``init``, whose schemes
    will overwrite them (see ``analysis.init.overwritten_layers``). With a ``seed``, each
    layer's own default init on a real device draws from a generator of its own, seeded
    from (seed, its path) (``randomness``): a layer's values do not depend on the
    layers built before it, so a checkpoint made a layer at a time has the same ones.
    """
    _check_count("modules", count_modules(spec), limits.max_modules, spec.model.loc)
    budget = BuildBudget(limits.max_tensors)
    prototypes = _measure(spec, limits, budget)
    measured = {key: s for key, (s, _) in prototypes.items()}
    unused = Structure(1, 0)  # a definition the model never uses is sized, not built

    _check_count(
        "modules",
        count_modules(spec, lambda call: measured.get(_call_key(call), unused).modules),
        limits.max_modules,
        spec.model.loc,
    )
    _check_count(
        "tensors (parameters and buffers)",
        count_modules(
            spec, lambda call: measured.get(_call_key(call), unused).tensors, per_sequence=0
        ),
        limits.max_tensors,
        spec.model.loc,
    )
    builder = _Builder(spec, torch.device(device), budget, copy_layers, frozenset(uninitialized))
    builder.seed = seed
    if builder.copy_layers:  # the measured layers are the first of their kind
        builder.first = {key: module for key, (_, module) in prototypes.items() if module}
    built = builder.build(spec.model, "")
    # `model: ReLU` is a one-layer model; the result is always an nn.Sequential.
    root = built if isinstance(built, nn.Sequential) else nn.Sequential(built)
    if len(root) and (len(spec.inputs) > 1 or any(i.name for i in spec.inputs)):
        root = Sequential(OrderedDict(root._modules))
    builder.record(root, spec.model)
    if spec.dtype != "float32":
        root.to(dtype=torch_dtype(spec.dtype))  # in place: Parameter identity (ties) kept
    if spec.ties:
        names = dict(root.named_parameters(remove_duplicate=False))
        aliases: dict[int, list[str]] = {}
        for name, p in names.items():
            aliases.setdefault(id(p), []).append(name)
        for tie in spec.ties:
            _apply_tie(root, tie, names, aliases)
    return CompiledModel(spec.name, root, spec, builder.origins, builder.calls, builder.made_by)


class Sequential(nn.Sequential):
    """The root of a spec whose ``input:`` lists several inputs, or names one: an
    ``nn.Sequential`` whose first layer takes them all (``Transformer(src, tgt=...)``),
    and each later layer the output of the one before. Shown as Sequential, which it is
    from the first layer on."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        layers = iter(self)  # never empty (see compile_spec)
        output = next(layers)(*args, **kwargs)
        for layer in layers:
            output = layer(output)
        return output


def _check_count(what: str, count: int, limit: int, loc: Location) -> None:
    if count > limit:
        option = "--max-modules" if what == "modules" else "--max-tensors"
        raise LimitError(
            f"the model expands to {count:,} {what}, more than the limit of {limit:,}",
            loc,
            f"Raise the limit with {option} if the model is really this large.",
        )


_CallKey: TypeAlias = tuple[str, str, str]


def _call_key(call: LayerCall) -> _CallKey:
    return (call.cls_name, repr(call.args), repr(call.kwargs))  # repr: 1, 1.0, True differ


def _measure(
    spec: Spec, limits: Limits, budget: BuildBudget
) -> dict[_CallKey, tuple[Structure, nn.Module | None]]:
    """Every distinct layer call's structure, measured on meta in the order the model
    builds them, with the module built for it when measuring meant building it (it is
    then the first of its kind in a meta build). A single call beyond a limit is refused
    at its own line."""
    found: dict[_CallKey, tuple[Structure, nn.Module | None]] = {}
    meta = torch.device("meta")
    for call in _calls(spec):
        key = _call_key(call)
        if key in found:
            continue
        measured = structure(call, lambda probe, shown: build_layer(probe, meta, budget, shown))
        found[key] = measured
        for what, count, limit, option in (
            ("modules", measured[0].modules, limits.max_modules, "--max-modules"),
            ("tensors", measured[0].tensors, limits.max_tensors, "--max-tensors"),
        ):
            if count > limit:
                raise LimitError(
                    f"this {call.cls_name} alone builds {count:,} {what}, more than the "
                    f"limit of {limit:,} for the whole model",
                    call.loc,
                    f"Check its arguments, or raise the limit with {option}.",
                )
    return found


def _calls(spec: Spec) -> Iterator[LayerCall]:
    """The layer calls of the model in the order it is built (each definition once)."""
    seen: set[tuple[str, str]] = set()
    stack: list[Layer | Repeat] = [spec.model]
    while stack:
        layer = stack.pop()
        if isinstance(layer, LayerCall):
            yield layer
        elif isinstance(layer, Repeat):
            if layer.count:
                stack.append(layer.layer)
        elif isinstance(layer, Sequence):
            stack.extend(reversed([i.layer if isinstance(i, Child) else i for i in layer.items]))
        else:
            key = ("block" if isinstance(layer, BlockUse) else "shared", layer.name)
            if key not in seen:
                seen.add(key)
                defs = spec.blocks if isinstance(layer, BlockUse) else spec.shared
                stack.append(defs[layer.name])


class _Builder:
    def __init__(
        self,
        spec: Spec,
        device: torch.device,
        budget: BuildBudget,
        copy_layers: bool = True,
        uninitialized: frozenset[str] = frozenset(),
    ):
        self.spec = spec
        self.uninitialized = uninitialized
        self.seed: int | None = None  # a real build's: each layer's default init seeded
        self.calls: dict[str, LayerCall] = {}
        self.made_by: dict[int, tuple[str, str]] = {}
        self.device = device
        self.budget = budget
        self.first: dict[_CallKey, nn.Module] = {}  # modules measured before the build
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
            module = self.layer(layer, path)
            self.calls[path] = layer
            for local, t in [*module.named_parameters(), *module.named_buffers()]:
                self.made_by.setdefault(id(t), (path, local))
            return self.record(module, layer)
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
            if self.seed is None or self.device.type == "meta":
                return build_layer(call, self.device, self.budget)
            from netinspect.randomness import stream_seed

            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(stream_seed(self.seed, path, "default"))
                return build_layer(call, self.device, self.budget)
        key = _call_key(call)
        if key not in self.copiers:
            first = self.first.pop(key, None)
            module = first if first is not None else build_layer(call, self.device, self.budget)
            self.copiers[key] = copier(module)  # None: this layer cannot be copied
            return module
        make = self.copiers[key]
        return make() if make is not None else build_layer(call, self.device, self.budget)

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
        if hasattr(parent, name):  # add_module would refuse it; say why, where
            raise SpecError(
                f"the child name {name!r} is taken: every torch module has an attribute {name!r}",
                loc,
                "Rename the child.",
            )
        parent.add_module(name, child)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _apply_tie(
    root: nn.Module, tie: Tie, names: dict[str, nn.Parameter], aliases: dict[int, list[str]]
) -> None:
    """Make every later parameter in ``tie`` the very same Parameter as the first.

    ``names`` is the model's ``named_parameters`` and ``aliases`` its names by tensor,
    read once for all ties and kept up to date here: reading them again for each tie made
    a long ties: list quadratic."""
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
        if other is not first:  # every name of the replaced tensor (a shared module's)
            moved = aliases.pop(id(other), [])
            for alias in moved:
                names[alias] = first
            aliases.setdefault(id(first), []).extend(moved)


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
