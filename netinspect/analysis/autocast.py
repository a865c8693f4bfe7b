"""CUDA's autocast, for a plan on meta tensors.

``torch.autocast("cuda", torch.bfloat16)`` casts the operands of each listed operation
(products and convolutions down to bfloat16; norms, softmax and losses up to float32)
before it runs, above autograd, so the casts are recorded and what backward saves is the
cast copy. It only casts CUDA and CPU tensors: on meta it does nothing. :class:`Autocast`
applies the same policy to meta tensors at the level of torch's Python functions: the
operation lists are CUDA's (``aten/src/ATen/autocast_mode.cpp``), and each weight (a leaf
that requires grad) is cast once per forward and the copy reused, as autocast's cast cache
does.

How: while it is active, the listed functions of ``torch``, ``torch.nn.functional`` and
``torch.Tensor`` are replaced by wrappers that cast and call the original; they are put
back on exit. A hack, and an honest one: a ``TorchFunctionMode`` cannot see the calls
inside a Python function it handles (``multi_head_attention_forward`` calls ``linear``
and ``scaled_dot_product_attention``), and autocast's own dispatch key does not act on
meta tensors. What a C++ composite calls internally is not seen (no ``torch.nn`` layer
relies on that in training).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils._pytree import tree_leaves, tree_map

# The functions CUDA's autocast runs in the lower precision (their operands cast down).
LOWER = frozenset(
    {
        "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
        "conv_transpose3d", "conv_tbc", "prelu", "addmm", "addmv", "addr", "matmul",
        "__matmul__", "__rmatmul__", "einsum", "mm", "mv", "linear", "addbmm", "baddbmm",
        "bmm", "chain_matmul", "multi_dot", "lstm_cell", "gru_cell", "rnn_tanh_cell",
        "rnn_relu_cell", "scaled_dot_product_attention", "vecdot",
    }
)  # fmt: skip
# The functions it runs in float32 (their lower-precision operands cast up).
FLOAT32 = frozenset(
    {
        "acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p",
        "reciprocal", "rsqrt", "sinh", "tan", "pow", "__pow__", "softplus", "layer_norm",
        "group_norm", "norm", "cosine_similarity", "poisson_nll_loss",
        "cosine_embedding_loss", "nll_loss", "hinge_embedding_loss", "kl_div", "l1_loss",
        "smooth_l1_loss", "huber_loss", "mse_loss", "margin_ranking_loss",
        "multilabel_margin_loss", "soft_margin_loss", "triplet_margin_loss",
        "multi_margin_loss", "binary_cross_entropy_with_logits", "dist", "pdist", "cdist",
        "renorm", "logsumexp", "cross_entropy", "interpolate",
    }
)  # fmt: skip
# Float32 unless the call names a dtype.
FLOAT32_UNLESS_DTYPE = frozenset(
    {"prod", "softmax", "log_softmax", "cumprod", "cumsum", "sum", "vector_norm", "matrix_norm"}
)
# The widest floating dtype among the operands.
PROMOTE = frozenset(
    {"addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "grid_sample", "index_put",
     "scatter_add", "tensordot", "cat", "stack"}
)  # fmt: skip

_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


class Autocast:
    """CUDA's autocast policy on meta tensors, to ``dtype`` (see the module)."""

    def __init__(self, dtype: torch.dtype = torch.bfloat16) -> None:
        self.dtype = dtype
        self.cache: dict[int, torch.Tensor] = {}
        self.busy = False  # inside a wrapped call: the calls it makes are its own business

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        patched: list[tuple[object, str, object]] = []
        owners: tuple[object, ...] = (torch, F, torch.Tensor)
        try:
            for owner in owners:
                for name in LOWER | FLOAT32 | FLOAT32_UNLESS_DTYPE | PROMOTE:
                    original = getattr(owner, name, None)
                    if original is None or not callable(original):
                        continue
                    patched.append((owner, name, original))
                    setattr(owner, name, self._wrap(name, original))
            yield
        finally:
            for owner, name, original in reversed(patched):
                setattr(owner, name, original)
            self.cache.clear()

    def _wrap(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def cast_then_call(*args: Any, **kwargs: Any) -> Any:
            if self.busy:
                return original(*args, **kwargs)
            args, kwargs = self.policy(name, args, kwargs)
            self.busy = name not in _COMPOSITE
            try:
                return original(*args, **kwargs)
            finally:
                self.busy = False

        return cast_then_call

    def policy(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The operands as autocast passes them to ``name``."""
        if name in LOWER:
            return self._cast((args, kwargs), self.dtype)  # type: ignore[no-any-return]
        if name in FLOAT32 or (name in FLOAT32_UNLESS_DTYPE and kwargs.get("dtype") is None):
            return self._cast((args, kwargs), torch.float32)  # type: ignore[no-any-return]
        if name in PROMOTE:
            floats = [t.dtype for t in _tensors((args, kwargs)) if t.dtype in _FLOATS]
            if floats:
                widest = max(floats, key=lambda d: torch.finfo(d).bits)
                return self._cast((args, kwargs), widest)  # type: ignore[no-any-return]
        return args, kwargs

    def _cast(self, tree: Any, dtype: torch.dtype) -> Any:
        def cast(leaf: Any) -> Any:
            if not isinstance(leaf, torch.Tensor) or leaf.dtype == dtype:
                return leaf
            if leaf.dtype not in (torch.float16, torch.bfloat16, torch.float32):
                return leaf
            if leaf.is_leaf and leaf.requires_grad:  # a weight: cast once, reused
                cached = self.cache.get(id(leaf))
                if cached is None or cached.dtype != dtype:
                    cached = self.cache[id(leaf)] = leaf.to(dtype)
                return cached
            return leaf.to(dtype)

        return tree_map(cast, tree)


# Python functions whose own calls autocast sees one by one (they are not kernels).
_COMPOSITE = frozenset({"einsum", "tensordot", "chain_matmul", "multi_dot", "interpolate"})


def _tensors(tree: Any) -> list[torch.Tensor]:
    return [t for t in tree_leaves(tree) if isinstance(t, torch.Tensor)]
