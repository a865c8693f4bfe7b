"""The registry of ``torch.nn`` layer classes a spec may name, and their construction.

Only ``nn.Module`` subclasses exported by ``torch.nn.modules`` are reachable; containers are
left out because YAML lists and mappings already are ``nn.Sequential``. Arguments are
checked against the constructor's real signature before it runs, so a mistake is reported
with that signature instead of a deep torch traceback.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch
from torch import nn

from netinspect.builder.guard import BuildBudget, MetaOnly
from netinspect.errors import LayerError, NetinspectError
from netinspect.spec.model import LayerCall, Value, did_you_mean

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
    """The constructor's parameters a spec may set: all but self, device, dtype and the
    private ones (``_weight``: torch's own)."""
    return [
        p
        for n, p in _signature(cls).parameters.items()
        if n != "self" and n not in _RESERVED and not n.startswith("_")
    ]


_SIGNATURES: dict[type[nn.Module], inspect.Signature] = {}
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _signature(cls: type[nn.Module]) -> inspect.Signature:
    """The parameters the constructor really reads, which a spec's arguments bind to.

    ``LSTM(*args, **kwargs)`` reads what its documented overload names, ``device`` and
    ``dtype`` among them; binding to ``*args`` would let a ninth positional argument be a
    device. Classes taking ``*args``/``**kwargs`` without an overload (``Identity``,
    ``Tanh``) ignore them, so a spec may give them none.
    """
    if cls not in _SIGNATURES:
        sig = inspect.signature(cls.__init__)
        if _variadic(sig):
            get_overloads = getattr(typing, "get_overloads", None)  # Python 3.11+
            overloads = [inspect.signature(o) for o in (get_overloads or _none)(cls.__init__)]
            plain = [
                o for o in overloads if not any(p.kind in _VARIADIC for p in o.parameters.values())
            ]
            if plain:
                sig = max(plain, key=lambda o: len(o.parameters))
            else:  # keep the named parameters, drop the catch-alls
                named = [p for p in sig.parameters.values() if p.kind not in _VARIADIC]
                sig = sig.replace(parameters=named)
        _SIGNATURES[cls] = sig
    return _SIGNATURES[cls]


def _none(function: object) -> list[Callable[..., Any]]:
    return []


def _variadic(sig: inspect.Signature) -> bool:
    return any(p.kind in _VARIADIC for p in sig.parameters.values())


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
        if name.startswith("_"):
            raise LayerError(
                f"{call.cls_name}: the argument {name!r} is private to torch and cannot be "
                f"set in a spec; its signature is {signature_text(cls)}",
                call.loc,
            )
    known = [p.name for p in _user_parameters(cls)]
    for name, _ in call.kwargs:
        if name not in sig.parameters:
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
        if name in _RESERVED or name.startswith("_"):  # positionals past the user's ones
            raise LayerError(
                f"too many positional arguments for {call.cls_name}: it takes at most "
                f"{len(known)} ({', '.join(known) or 'none'}); its signature is "
                f"{signature_text(cls)}",
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


def build_layer(
    call: LayerCall,
    device: torch.device,
    budget: BuildBudget | None = None,
    shown: LayerCall | None = None,
) -> nn.Module:
    """Construct one ``torch.nn`` layer on ``device`` after checking its arguments.

    On meta with a ``budget``, the constructor runs under :class:`guard.MetaOnly`: nothing
    real is allocated and its work is bounded. ``shown`` is the call the user wrote, named
    in errors, when ``call`` is a smaller probe of it (see :func:`structure`).
    """
    shown = shown or call
    cls = registry().get(call.cls_name)
    if cls is None:  # the spec resolved names against this registry; this is a guard
        raise LayerError(
            f"unknown layer {call.cls_name!r}",
            call.loc,
            did_you_mean(call.cls_name, registry()),
        )
    check_arguments(call, cls)
    guarded = budget is not None and device.type == "meta"
    try:
        with device:
            if not guarded:
                return cls(*call.args, **dict(call.kwargs))
            assert budget is not None
            with MetaOnly(budget, _format_call(shown), call.loc):
                return cls(*call.args, **dict(call.kwargs))
    except NetinspectError:
        raise
    except Exception as exc:  # any constructor's own argument check: user input, reported
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LayerError(
            f"{_format_call(shown)} cannot be built: {reason}; "
            f"its signature is {signature_text(cls)}",
            call.loc,
        ) from None


@dataclass(frozen=True)
class Structure:
    """What one layer call builds: its modules (itself included) and its tensors
    (parameters and buffers), counted in the module as torch builds it."""

    modules: int
    tensors: int

    @staticmethod
    def of(module: nn.Module) -> Structure:
        modules = sum(1 for _ in module.modules())
        tensors = sum(1 for _ in module.parameters()) + sum(1 for _ in module.buffers())
        return Structure(modules, tensors)


#: Constructor arguments that repeat a layer's structure: torch builds that many layers
#: (an int) or one per entry (a list). They are the only ones in torch.nn (a test sweeps the
#: registry for others). A call using them is measured on small probes and extrapolated,
#: so ``LSTM(num_layers=1000000)`` is refused before torch spends minutes building it
#: (RNNBase registers each weight in time linear in the weights before it).
MULTIPLIERS: dict[str, tuple[str, ...]] = {
    "RNN": ("num_layers",),
    "LSTM": ("num_layers",),
    "GRU": ("num_layers",),
    "Transformer": ("num_encoder_layers", "num_decoder_layers"),
    "AdaptiveLogSoftmaxWithLoss": ("cutoffs",),
}


def structure(
    call: LayerCall, build: Callable[[LayerCall, LayerCall], nn.Module]
) -> tuple[Structure, nn.Module | None]:
    """What ``call`` builds, and the module when measuring it meant building it.

    ``build(probe, call)`` constructs a layer on meta. A call without multiplying
    arguments is built once and counted; one with them is built at 1 and 2 of each (the
    others at 1), and the counts extrapolated, which is exact because each adds the same
    structure again (tested against torch).
    """
    cls = registry()[call.cls_name]
    check_arguments(call, cls)
    given = _bound(call, cls)
    names = [n for n in MULTIPLIERS.get(call.cls_name, ()) if n in given]
    repeats = {n: _repeats(given[n]) for n in names}
    if all(r <= 2 for r in repeats.values()):
        module = build(call, call)
        return Structure.of(module), module
    base = Structure.of(build(_with(call, given, dict.fromkeys(names, 1)), call))
    modules, tensors = base.modules, base.tensors
    for name in names:
        probe = _with(call, given, {**dict.fromkeys(names, 1), name: 2})
        one_more = Structure.of(build(probe, call))
        modules += (repeats[name] - 1) * (one_more.modules - base.modules)
        tensors += (repeats[name] - 1) * (one_more.tensors - base.tensors)
    return Structure(modules, tensors), None


def _bound(call: LayerCall, cls: type[nn.Module]) -> dict[str, Any]:
    bound = _signature(cls).bind(None, *call.args, **dict(call.kwargs))
    return {k: v for k, v in bound.arguments.items() if k != "self"}


def _repeats(value: Any) -> int:
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return max(value, 1)
    if isinstance(value, tuple):
        return max(len(value), 1)
    return 1


def _with(call: LayerCall, given: dict[str, Any], counts: dict[str, int]) -> LayerCall:
    """``call`` as keyword arguments, each multiplier cut to its count in ``counts``."""
    kwargs = dict(given)
    for name, count in counts.items():
        value = given[name]
        kwargs[name] = value[:count] if isinstance(value, tuple) else count
    return LayerCall(call.cls_name, (), tuple(kwargs.items()), call.loc)
