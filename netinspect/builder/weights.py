"""A weights file's tensors as a module tree on meta, so that ``params``, ``tree`` and
``shared`` show a checkpoint as they show a spec: each dotted name's prefixes become
modules, its last part a parameter of the dtype and shape the file states (trainable, as
it is once loaded; an integer or bool tensor, which cannot be a Parameter, a buffer).
Names a file stores once under another (ties) become one Parameter under both names.
Nothing is read but the header."""

from __future__ import annotations

import torch
from torch import nn

from netinspect.errors import Location, WeightsError
from netinspect.weights.safetensors import WeightsFile


class Weights(nn.Module):
    """A module of a weights file: it has tensors and children, and no forward."""


def module_from(weights: WeightsFile) -> nn.Module:
    root = Weights()
    made: dict[str, torch.Tensor] = {}
    for tensor in weights.tensors:
        dtype = getattr(torch, tensor.dtype)
        value = torch.empty(tensor.shape, dtype=dtype, device="meta")
        made[tensor.name] = _place(root, tensor.name, value, weights.path)
    for alias, kept in sorted(weights.aliases.items()):
        if kept in made and alias not in made:
            made[alias] = _place(root, alias, made[kept], weights.path)
    return root


def _place(root: nn.Module, name: str, value: torch.Tensor, path: str) -> torch.Tensor:
    *parents, leaf = name.split(".")
    module = root
    for part in parents:
        child = module._modules.get(part)
        if child is None:
            if part in module._parameters or part in module._buffers or not part:
                raise _clash(name, path)
            child = Weights()
            module.add_module(part, child)
        module = child
    if not leaf or leaf in module._modules or leaf in module._parameters or leaf in module._buffers:
        raise _clash(name, path)
    if isinstance(value, nn.Parameter) or value.is_floating_point() or value.is_complex():
        parameter = value if isinstance(value, nn.Parameter) else nn.Parameter(value)
        module.register_parameter(leaf, parameter)
        return parameter
    module.register_buffer(leaf, value)
    return value


def _clash(name: str, path: str) -> WeightsError:
    return WeightsError(
        f"the tensor name {name!r} cannot be a module path: a tensor and a module share a "
        "name, or a part is empty",
        Location(path),
    )
