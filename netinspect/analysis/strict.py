"""The meta pass refuses what a real run refuses: dtypes torch's meta kernels let through.

Meta kernels compute shapes; many skip the dtype checks the real kernels make, so an
``int64`` input into ``Linear`` "works" on meta and fails on every real device ("mat1 and
mat2 must have the same dtype"). :class:`RealDtypes` is a ``TorchDispatchMode`` active
during a meta pass that makes those checks before each operation, with the real kernels'
rules:

- products and convolutions take operands of one dtype;
- normalizations take a floating input, and parameters of its dtype (or float32 ones for a
  float16/bfloat16 input, which torch mixes);
- activations and softmax that only exist for floating point refuse integers and bools,
  and ``relu`` refuses bools;
- embeddings take int32 or int64 indices.

The rules cover the layers of ``torch.nn`` a spec builds; a test runs each of them on cpu
and on meta for every pair of parameter and input dtype and asserts that both refuse the
same pairs. It costs a few microseconds per operation that really runs on meta (identical
repeated layers are answered from memory and run nothing).
"""

from __future__ import annotations

from typing import Any

import torch

from netinspect.dispatch import Mode

aten = torch.ops.aten


def _ops(*names: str) -> set[Any]:
    """The named aten operators this torch has (``_safe_softmax`` came in torch 2.5, for
    one): an operator a torch lacks is one its layers never call."""
    return {op for name in names if (op := getattr(aten, name, None)) is not None}


#: All tensor operands in one dtype.
_ONE_DTYPE = _ops(
    "mm",
    "addmm",
    "bmm",
    "baddbmm",
    "addbmm",
    "addmv",
    "mv",
    "dot",
    "vdot",
    "addr",
    "_addmm_activation",
    "convolution",
    "_convolution",
    "_trilinear",
    "_prelu_kernel",
)
#: The input (argument 0) and, at these positions, parameters.
_NORMS = {
    op: where
    for name, where in [
        ("native_layer_norm", (2, 3)),
        ("native_batch_norm", (1, 2, 3, 4)),
        ("_native_batch_norm_legit", (1, 2, 3, 4)),
        ("_native_batch_norm_legit_no_training", (1, 2, 3, 4)),
        ("native_group_norm", (1, 2)),
    ]
    if (op := getattr(aten, name, None)) is not None
}
#: Floating-point input only (argument 0).
_FLOATING = _ops(
    "_softmax",
    "_log_softmax",
    "_safe_softmax",
    "gelu",
    "silu",
    "mish",
    "hardswish",
    "hardsigmoid",
    "elu",
    "softplus",
    "log_sigmoid_forward",
    "_prelu_kernel",
    "glu",
    "softshrink",
    "hardshrink",
    "rrelu_with_noise",
    "leaky_relu",
)
#: Index arguments that must be int32 or int64: (argument position, what it is).
_INDICES = {aten.embedding: 1, aten._embedding_bag: 1, aten._embedding_bag_forward_only: 1}
_INDEX_DTYPES = (torch.int32, torch.int64)
_MIXED = (torch.float16, torch.bfloat16)


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


class RealDtypes(Mode):
    """Refuse, on meta, an operation whose dtypes a real kernel refuses (see the module)."""

    def dispatch(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        packet = func.overloadpacket
        problem = _problem(packet, args)
        if problem:
            raise RuntimeError(f"{packet.__name__}: {problem}")
        return func(*args, **kwargs)


def _problem(packet: Any, args: tuple[Any, ...]) -> str | None:
    if packet in _ONE_DTYPE:
        dtypes = {a.dtype for a in args if isinstance(a, torch.Tensor)}
        if len(dtypes) > 1:
            shown = " and ".join(sorted(_name(d) for d in dtypes))
            return f"its tensors must have one dtype, but got {shown}"
    if packet in _NORMS:
        return _norm_problem(args, _NORMS[packet])
    first = args[0] if args and isinstance(args[0], torch.Tensor) else None
    if packet in _FLOATING and first is not None and not first.dtype.is_floating_point:
        return f"not implemented for {_name(first.dtype)} input; it needs floating point"
    if packet is aten.relu and first is not None and first.dtype == torch.bool:
        return "bool inputs are not supported"
    if packet in _INDICES:
        indices = args[_INDICES[packet]]
        if isinstance(indices, torch.Tensor) and indices.dtype not in _INDEX_DTYPES:
            return f"indices must be int32 or int64, but got {_name(indices.dtype)}"
    return None


def _norm_problem(args: tuple[Any, ...], positions: tuple[int, ...]) -> str | None:
    x = args[0]
    if not x.dtype.is_floating_point:
        return f"not implemented for {_name(x.dtype)} input; it needs floating point"
    for i in positions:
        p = args[i] if i < len(args) else None
        if isinstance(p, torch.Tensor) and p.dtype != x.dtype:
            if p.dtype == torch.float32 and x.dtype in _MIXED:
                continue  # torch mixes a half-precision input with float32 parameters
            return (
                f"an input of {_name(x.dtype)} and parameters of {_name(p.dtype)} do not mix; "
                "give the input the parameters' dtype"
            )
    return None
