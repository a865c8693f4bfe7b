"""The layer registry: torch.nn Module classes only, checked arguments, real signatures."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable

import pytest
import torch
from torch import nn

from netinspect._fast.copier import copier
from netinspect._fast.state import layer_state
from netinspect.builder.guard import BuildBudget, MetaOnly
from netinspect.builder.registry import (
    MULTIPLIERS,
    Structure,
    _user_parameters,
    build_layer,
    check_arguments,
    registry,
    signature_text,
    structure,
)
from netinspect.errors import LayerError, LimitError, Location
from netinspect.spec.model import LayerCall


def test_registry_holds_only_torch_nn_module_classes() -> None:
    layers = registry()
    assert len(layers) > 100
    for name, cls in layers.items():
        assert isinstance(cls, type)
        assert issubclass(cls, nn.Module)
        assert cls.__module__.startswith("torch.nn."), name
        assert getattr(nn, name) is cls


@pytest.mark.parametrize(
    "name", ["Module", "Sequential", "ModuleList", "ModuleDict", "Parameter", "init", "functional"]
)
def test_containers_and_non_layers_are_not_layers(name: str) -> None:
    assert name not in registry()


def test_lazy_layers_are_ordinary_layers() -> None:
    assert {"LazyLinear", "LazyConv2d", "LazyBatchNorm1d"} <= set(registry())


def test_signature_text_hides_what_netinspect_owns() -> None:
    assert signature_text(nn.Linear) == (
        "Linear(in_features: int, out_features: int, bias: bool = True)"
    )


# Layers with settings, parameters, buffers, optional tensors and flags, built on meta.
COPYABLE = [
    lambda: nn.Linear(3, 4),
    lambda: nn.Linear(3, 4, bias=False),
    lambda: nn.Conv2d(3, 8, 3, stride=2, padding=1, groups=1),
    lambda: nn.LayerNorm([4, 5], eps=1e-3),
    lambda: nn.BatchNorm2d(6, momentum=None),
    lambda: nn.Embedding(10, 4, padding_idx=0, max_norm=1.0),
    lambda: nn.PReLU(3),
    lambda: nn.Bilinear(2, 3, 4),
    lambda: nn.GELU("tanh"),
    lambda: nn.Dropout(0.3),
    lambda: nn.Upsample(scale_factor=2, mode="nearest"),
]


def fresh_copy(module: nn.Module) -> nn.Module | None:
    make = copier(module)
    return make() if make is not None else None


def _meta(factory: Callable[[], nn.Module]) -> nn.Module:
    with torch.device("meta"):
        return factory()


def _facts(module: nn.Module) -> tuple[object, ...]:
    tensors = [
        (name, type(t), tuple(t.shape), t.stride(), t.dtype, t.device, t.requires_grad)
        for name, t in (*module.named_parameters(), *module.named_buffers())
    ]
    settings = {k: v for k, v in vars(module).items() if k not in ("_parameters", "_buffers")}
    return repr(module), tensors, settings, module.state_dict().keys()


@pytest.mark.parametrize("factory", COPYABLE)
def test_a_fresh_copy_is_what_the_constructor_builds(factory: Callable[[], nn.Module]) -> None:
    prototype = _meta(factory)
    copy = fresh_copy(prototype)
    assert copy is not None
    assert type(copy) is type(prototype)
    assert _facts(copy) == _facts(_meta(factory))
    assert layer_state(copy) == layer_state(prototype) is not None
    own = {id(t) for t in (*prototype.parameters(), *prototype.buffers())}
    assert not own & {id(t) for t in (*copy.parameters(), *copy.buffers())}
    for table in ("_forward_hooks", "_modules"):
        assert copy.__dict__[table] is not prototype.__dict__[table]


@pytest.mark.parametrize(
    "factory",
    [
        lambda: nn.LSTM(3, 4),  # keeps a list of its weights
        lambda: nn.LazyLinear(4),  # uninitialized parameters
        lambda: nn.MultiheadAttention(4, 2),  # submodules
        lambda: nn.TransformerEncoderLayer(8, 2),
    ],
)
def test_layers_with_other_state_are_not_copied(factory: Callable[[], nn.Module]) -> None:
    module = _meta(factory)
    assert fresh_copy(module) is None
    assert layer_state(module) is None


def test_real_or_hooked_layers_are_not_copied() -> None:
    assert fresh_copy(nn.Linear(2, 2)) is None  # real values a copy would not have
    hooked = _meta(lambda: nn.Linear(2, 2))
    hooked.register_forward_hook(lambda m, i, o: None)
    assert fresh_copy(hooked) is None


def test_layer_state_tells_settings_and_shapes_apart() -> None:
    factories: list[Callable[[], nn.Module]] = [
        lambda: nn.Linear(3, 4),
        lambda: nn.Linear(4, 3),
        lambda: nn.Linear(3, 4, bias=False),
        nn.GELU,
        lambda: nn.GELU("tanh"),
        lambda: nn.Dropout(0.1),
        lambda: nn.Dropout(0.2),
    ]
    states = {layer_state(_meta(f)) for f in factories}
    assert len(states) == 7
    double = _meta(lambda: nn.Linear(3, 4)).to(torch.float64)
    assert layer_state(double) != layer_state(_meta(lambda: nn.Linear(3, 4)))
    evaluating = _meta(lambda: nn.Dropout(0.1)).eval()
    assert layer_state(evaluating) != layer_state(_meta(lambda: nn.Dropout(0.1)))


# -- untrusted arguments -------------------------------------------------------------------
def _sample(parameter: inspect.Parameter) -> object:
    """A plausible value for a required constructor parameter, by its annotation."""
    annotation = parameter.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)[0]
    return {int: 4, float: 0.5, bool: True, str: "mean"}.get(annotation, 4)


def _required(cls: type[nn.Module]) -> dict[str, object]:
    return {p.name: _sample(p) for p in _user_parameters(cls) if p.default is p.empty}


@pytest.mark.parametrize("name", sorted(registry()))
def test_no_argument_a_spec_gives_reaches_device_or_dtype(name: str) -> None:
    cls = registry()[name]
    params = _user_parameters(cls)
    assert not {"device", "dtype"} & {p.name for p in params}
    assert not [p for p in params if p.name.startswith("_")]
    assert not [p for p in params if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    # One positional argument more than the user's parameters: refused, never a device.
    too_many = LayerCall(name, tuple(["cpu"] * (len(params) + 1)), (), Location("t.yaml", 1, 1))
    with pytest.raises(LayerError, match="too many positional arguments"):
        check_arguments(too_many, cls)
    for reserved in ("device", "dtype", "_weight"):
        call = LayerCall(name, (), ((reserved, "cpu"),), Location("t.yaml", 1, 1))
        with pytest.raises(LayerError, match="cannot be set in a spec"):
            check_arguments(call, cls)


def test_rnns_bind_to_their_documented_signature() -> None:
    assert signature_text(nn.LSTM).startswith("LSTM(input_size: int, hidden_size: int,")
    assert "device" not in signature_text(nn.GRU)
    assert signature_text(nn.Identity) == "Identity()"


def _probe_build(call: LayerCall, shown: LayerCall) -> nn.Module:
    return build_layer(call, torch.device("meta"), BuildBudget(10**6), shown)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("LSTM", {"input_size": 3, "hidden_size": 4, "num_layers": 5, "bidirectional": True}),
        ("LSTM", {"input_size": 3, "hidden_size": 4, "num_layers": 4, "proj_size": 2}),
        ("GRU", {"input_size": 3, "hidden_size": 4, "num_layers": 7}),
        ("RNN", {"input_size": 3, "hidden_size": 4, "num_layers": 3, "bidirectional": True}),
        (
            "Transformer",
            {"d_model": 8, "nhead": 2, "num_encoder_layers": 3, "num_decoder_layers": 5},
        ),
        ("AdaptiveLogSoftmaxWithLoss", {"in_features": 8, "n_classes": 20, "cutoffs": (2, 5, 9)}),
    ],
)
def test_a_multiplied_structure_is_predicted_exactly(name: str, kwargs: dict[str, object]) -> None:
    values = tuple((k, v) for k, v in kwargs.items() if isinstance(v, (int, tuple)))
    call = LayerCall(name, (), values, Location("t.yaml", 1, 1))
    predicted, module = structure(call, _probe_build)
    assert module is None  # measured on small probes, not built
    with torch.device("meta"):
        real = registry()[name](**kwargs)
    assert predicted == Structure.of(real)


def test_a_plain_call_is_measured_by_building_it() -> None:
    call = LayerCall("Linear", (3, 4), (), Location("t.yaml", 1, 1))
    measured, module = structure(call, _probe_build)
    assert isinstance(module, nn.Linear)
    assert measured == Structure(1, 2)


def test_only_the_known_arguments_multiply_a_layer() -> None:
    """Every registry class that builds from guessed arguments: raising one whole-number
    argument (2, 3, 4) changes how many modules and tensors torch builds only for
    MULTIPLIERS. (Switching a feature on, as proj_size 0 -> 1 does, adds a bounded amount.)"""
    swept = 0
    for name, cls in sorted(registry().items()):
        base_args = _required(cls)
        try:
            with torch.device("meta"):
                cls(**base_args)
        except Exception:  # the guesses do not fit this class: not swept
            continue
        swept += 1
        for p in _user_parameters(cls):
            if p.annotation is not int:
                continue
            counts = set()
            for value in (2, 3, 4):
                try:
                    with torch.device("meta"):
                        counts.add(Structure.of(cls(**{**base_args, p.name: value})))
                except Exception:
                    continue
            if len(counts) > 1:
                assert p.name in MULTIPLIERS.get(name, ()), (name, p.name, counts)
    assert swept > 100


def test_the_guard_refuses_a_real_allocation_before_it_happens() -> None:
    budget = BuildBudget(100)
    with (
        pytest.raises(LayerError, match="would allocate memory on cpu"),
        torch.device("meta"),
        MetaOnly(budget, "X()", Location("t.yaml", 1, 1)),
    ):
        torch.empty(10, device="cpu")


def test_the_guard_bounds_the_work_of_a_constructor() -> None:
    budget = BuildBudget(10)

    def endless() -> None:
        for _ in range(10_000):
            torch.empty(1)

    with (
        torch.device("meta"),
        MetaOnly(budget, "X()", Location("t.yaml", 1, 1)),
        pytest.raises(LimitError, match="more tensor operations"),
    ):
        endless()
    assert budget.left < 0
