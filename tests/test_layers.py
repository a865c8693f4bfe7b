"""The layer registry: torch.nn Module classes only, checked arguments, real signatures."""

from __future__ import annotations

import pytest
from torch import nn

from netinspect.layers import registry, signature_text


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
