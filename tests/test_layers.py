"""The layer registry: torch.nn Module classes only, checked arguments, real signatures."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from netinspect.layers import copier, layer_state, registry, signature_text


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
