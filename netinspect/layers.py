"""The registry of ``torch.nn`` layer classes a spec may name, and their construction.

Only ``nn.Module`` subclasses exported by ``torch.nn.modules`` are reachable; containers are
left out because YAML lists and mappings already are ``nn.Sequential``. Arguments are
checked against the constructor's real signature before it runs, so a mistake is reported
with that signature instead of a deep torch traceback.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Hashable
from functools import cache
from typing import Any

import torch
from torch import nn

from netinspect.errors import LayerError
from netinspect.spec import LayerCall, Value, did_you_mean

# Containers and abstract bases: a spec builds containers from YAML structure instead.
_EXCLUDED = frozenset(
    {
        "Module",
        "Container",
        "Sequential",
        "ModuleList",
        "ModuleDict",
        "ParameterList",
        "ParameterDict",
        "RNNBase",
        "RNNCellBase",
    }
)
# Constructor arguments that are sizes: torch accepts 0 for some (an empty layer), but in a
# spec a zero or negative size is a mistake, reported before torch sees it.
_SIZES = frozenset(
    {
        "in_features",
        "out_features",
        "in1_features",
        "in2_features",
        "in_channels",
        "out_channels",
        "num_features",
        "num_embeddings",
        "embedding_dim",
        "num_channels",
        "num_groups",
        "input_size",
        "hidden_size",
        "num_layers",
        "embed_dim",
        "num_heads",
        "d_model",
        "nhead",
        "dim_feedforward",
    }
)
# Arguments netinspect owns: the device is meta or cpu by command, the dtype is spec-wide.
_RESERVED = {"device": "netinspect chooses the device", "dtype": "use the spec's top-level dtype:"}


@cache
def registry() -> dict[str, type[nn.Module]]:
    """Layer name -> class, for every public ``torch.nn`` module class but containers."""
    classes: dict[str, type[nn.Module]] = {}
    for name in nn.modules.__all__:
        obj = getattr(nn, name, None)
        if isinstance(obj, type) and issubclass(obj, nn.Module) and name not in _EXCLUDED:
            classes[name] = obj
    return classes


def signature_text(cls: type[nn.Module]) -> str:
    """The constructor's signature as a user writes it: ``Linear(in_features: int, ...)``."""
    return f"{cls.__name__}({', '.join(str(p) for p in _user_parameters(cls))})"


def _user_parameters(cls: type[nn.Module]) -> list[inspect.Parameter]:
    """The constructor's parameters a spec may set: all but self, device and dtype."""
    return [p for n, p in _signature(cls).parameters.items() if n != "self" and n not in _RESERVED]


_SIGNATURES: dict[type[nn.Module], inspect.Signature] = {}


def _signature(cls: type[nn.Module]) -> inspect.Signature:
    if cls not in _SIGNATURES:
        _SIGNATURES[cls] = inspect.signature(cls.__init__)
    return _SIGNATURES[cls]


def type_problem(value: Value, annotation: Any) -> str | None:
    """Why ``value`` cannot be ``annotation``, for the plain annotations torch uses; else None."""
    if annotation is int and (isinstance(value, bool) or not isinstance(value, int)):
        return "a whole number"
    if annotation is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return "a number"
    if annotation is bool and not isinstance(value, bool):
        return "true or false"
    if typing.get_origin(annotation) is typing.Literal and value not in typing.get_args(annotation):
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    return None


def check_arguments(call: LayerCall, cls: type[nn.Module]) -> None:
    """Bind the spec's arguments to the constructor; raise a located error if they do not fit."""
    sig = _signature(cls)
    for name, _ in call.kwargs:
        if name in _RESERVED:
            raise LayerError(
                f"{call.cls_name}: the argument {name!r} cannot be set in a spec "
                f"({_RESERVED[name]})",
                call.loc,
            )
    known = [p.name for p in _user_parameters(cls)]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    for name, _ in call.kwargs:
        if name not in sig.parameters and not takes_any:
            raise LayerError(
                f"{call.cls_name} has no argument {name!r}; its signature is {signature_text(cls)}",
                call.loc,
                did_you_mean(name, known),
            )
    try:
        bound = sig.bind(None, *call.args, **dict(call.kwargs))
    except TypeError as exc:
        raise LayerError(
            f"wrong arguments for {call.cls_name}: {exc}; its signature is {signature_text(cls)}",
            call.loc,
        ) from None
    for name in bound.arguments:
        if name in _RESERVED:  # extra positionals would land in device= and dtype=
            raise LayerError(
                f"too many positional arguments for {call.cls_name}: it takes at most "
                f"{len(known)} ({', '.join(known)}); its signature is {signature_text(cls)}",
                call.loc,
            )
    for name, value in bound.arguments.items():
        if name == "self":
            continue
        annotation = sig.parameters[name].annotation
        problem = type_problem(value, annotation)
        if not problem and name in _SIZES and isinstance(value, int) and value < 1:
            problem = "a size of at least 1"
        if problem:
            raise LayerError(
                f"{call.cls_name}: {name} must be {problem}, got {value!r}; "
                f"its signature is {signature_text(cls)}",
                call.loc,
            )


def _format_call(call: LayerCall) -> str:
    parts = [repr(a) for a in call.args] + [f"{k}={v!r}" for k, v in call.kwargs]
    return f"{call.cls_name}({', '.join(parts)})"


def build_layer(call: LayerCall, device: torch.device) -> nn.Module:
    """Construct one ``torch.nn`` layer on ``device`` after checking its arguments."""
    cls = registry().get(call.cls_name)
    if cls is None:  # the spec resolved names against this registry; this is a guard
        raise LayerError(
            f"unknown layer {call.cls_name!r}",
            call.loc,
            did_you_mean(call.cls_name, registry()),
        )
    check_arguments(call, cls)
    try:
        with device:
            return cls(*call.args, **dict(call.kwargs))
    except Exception as exc:  # any constructor's own argument check: user input, reported
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LayerError(
            f"{_format_call(call)} cannot be built: {reason}; "
            f"its signature is {signature_text(cls)}",
            call.loc,
        ) from None


# Attribute values a fresh copy may share with its prototype: they cannot be changed in place.
_IMMUTABLE = (bool, int, float, complex, str, bytes, type(None), torch.dtype, torch.device)
# What every Module keeps for itself (hook tables and the like), as opposed to layer settings.
_BOOKKEEPING = frozenset(nn.Module().__dict__) - {"training", "_parameters", "_buffers"}


def _immutable(value: object) -> bool:
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return isinstance(value, _IMMUTABLE)


def layer_state(module: nn.Module, ignore: str = "") -> Hashable | None:
    """All a plain leaf layer's forward depends on besides its inputs, on meta: its class,
    its settings, and its tensors' shapes, strides and dtypes. None for anything else (a
    block, a lazy layer, a layer holding lists, modules or functions), whose behaviour
    cannot be read off this way. The attribute ``ignore`` is passed over (a dry run's own
    wrapper around ``forward``). Runs once per call of a dry run, so it is written flat."""
    if module._modules:
        return None
    parts: list[object] = [type(module)]
    for name, value in module.__dict__.items():
        if name in _BOOKKEEPING or name == ignore:
            continue
        if name in ("_parameters", "_buffers"):
            facts: list[object] = []
            for key, t in value.items():
                if t is None:
                    facts.append((key, None))
                elif type(t) is nn.Parameter or type(t) is torch.Tensor:
                    facts.append((key, t.shape, t.stride(), t.dtype, t.device, t.requires_grad))
                else:
                    return None  # lazy (Uninitialized*), or another subclass
            parts.append(tuple(facts))
        elif _immutable(value):
            parts.append((name, value))
        else:
            return None
    return tuple(parts)


def _fresh_tensor(tensor: torch.Tensor) -> torch.Tensor:
    return torch.empty_strided(
        tensor.shape, tensor.stride(), dtype=tensor.dtype, device=tensor.device
    )


def copier(module: nn.Module) -> Callable[[], nn.Module] | None:
    """A function making new copies of ``module`` (as it is now), each a layer as its
    constructor would build it again on meta: same class and settings, its own parameters
    and buffers (same shapes, dtypes and ``requires_grad``), no hooks. Checked once, so a
    layer repeated thousands of times is cheap to copy. None when ``module`` is not a plain
    meta leaf (see :func:`layer_state`) or has hooks.

    Building 12,000 layers spends most of its time in ``__init__`` and ``reset_parameters``,
    whose values mean nothing on meta; a copy takes a fraction of that.
    """
    if layer_state(module) is None:
        return None
    # The module's attributes in their own order; the values that cannot be shared get
    # replaced per copy by a fresh one from their factory.
    template = dict(module.__dict__)
    fresh: list[tuple[str, Callable[[], Any]]] = []
    for name, value in template.items():
        if name in ("_parameters", "_buffers"):
            if any(t is not None and t.device.type != "meta" for t in value.values()):
                return None  # real values: a copy would not have them
            fresh.append((name, functools.partial(_fresh_table, dict(value))))
        elif name == "_non_persistent_buffers_set":
            fresh.append((name, functools.partial(set, value)))  # of names
        elif name in _BOOKKEEPING and isinstance(value, (dict, set, list)):
            if value:
                return None  # hooks: they may refer to the module they were registered on
            fresh.append((name, type(value)))
        # anything else is immutable, as layer_state checked: shared
    cls = type(module)

    def make() -> nn.Module:
        copy = cls.__new__(cls)
        state = template.copy()
        for name, new in fresh:
            state[name] = new()
        copy.__dict__.update(state)
        return copy

    return make


def _fresh_table(tensors: dict[str, torch.Tensor | None]) -> dict[str, torch.Tensor | None]:
    return {k: _fresh_like(t) for k, t in tensors.items()}


def _fresh_like(tensor: torch.Tensor | None) -> torch.Tensor | None:
    if tensor is None:
        return None
    if type(tensor) is nn.Parameter:
        return nn.Parameter(_fresh_tensor(tensor), tensor.requires_grad)
    return _fresh_tensor(tensor)
