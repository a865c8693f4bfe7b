"""The kernels a CUDA GPU runs where meta's differ in what they allocate.

On meta, torch takes the path its composite operators define, which is not what CUDA
runs; a planner that follows meta plans memory a GPU never uses:

- ``scaled_dot_product_attention`` on meta always takes the math path, which keeps the
  B x H x L x L attention matrix for backward. CUDA picks a fused kernel that keeps the
  output and a float32 log-sum-exp of B x H x L instead: flash attention for float16 and
  bfloat16 without a mask and a head size up to 256, otherwise the memory-efficient
  kernel (which pads L to a multiple of 32 in its log-sum-exp). Both have meta kernels
  and autograd formulas in torch, so they are called as they are.
- ``dropout`` on meta multiplies by a float noise tensor and saves it; CUDA runs
  ``native_dropout``, whose mask is one byte an element.

:func:`cuda_kernels` registers these choices as Python kernels for meta tensors
(``AutogradMeta``), above autograd so that what each saves for backward is what CUDA's
saves, for the duration of a plan only. ``torch.library`` is public API.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import torch

aten = torch.ops.aten

#: The largest head size flash attention takes.
FLASH_MAX_HEAD = 256


@contextlib.contextmanager
def cuda_kernels() -> Iterator[None]:
    """Within: meta tensors run attention and dropout as CUDA does (see the module)."""
    # torch.library is untyped; _destroy is how a Library's registrations are undone (what
    # its finalizer does), so they last for the plan only.
    library = torch.library.Library("aten", "IMPL")  # type: ignore[no-untyped-call]
    try:
        library.impl("scaled_dot_product_attention", _attention, "AutogradMeta")  # type: ignore[no-untyped-call]
        library.impl("dropout", _dropout, "AutogradMeta")  # type: ignore[no-untyped-call]
        flash = _flash_meta()
        if flash is not None:
            with contextlib.suppress(RuntimeError):  # torch < 2.7 refuses a second Meta kernel
                library.impl("_scaled_dot_product_flash_attention", flash, "Meta")  # type: ignore[no-untyped-call]
        yield
    finally:
        library._destroy()  # type: ignore[no-untyped-call]


def _flash_meta() -> Any:
    """Flash attention's meta kernel with its RNG offset a view of its seed, one storage as
    CUDA's kernel returns them (meta makes two: 8 bytes more saved per call). The meta
    kernel is torch's own, found in its private table; without it, or where torch refuses
    to replace a meta kernel registered from Python (before 2.7), those 8 bytes stay."""
    try:
        from torch._decomp import meta_table
    except ImportError:
        return None
    original = meta_table.get(aten._scaled_dot_product_flash_attention.default)
    if original is None:
        return None

    def flash(*args: Any, **kwargs: Any) -> Any:
        out = list(original(*args, **kwargs))
        out[7] = out[6][1]  # philox_offset within rng_state
        return tuple(out)

    return flash


def _dropout(input: torch.Tensor, p: float, train: bool) -> torch.Tensor:
    if not train or p == 0:
        return input
    output: torch.Tensor = aten.native_dropout(input, p, train)[0]
    return output


def _attention(  # noqa: PLR0917  # aten's signature, called by position
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> torch.Tensor:
    """The kernel CUDA's dispatcher picks, called directly; the math path (the composite's
    own) where neither fused kernel takes the call."""
    head = query.shape[-1]
    same_heads = query.shape[-3:-2] == key.shape[-3:-2] and not enable_gqa
    half = query.dtype in (torch.float16, torch.bfloat16)
    dims = query.dim() == 4 and key.dim() == 4 and value.dim() == 4
    if dims and same_heads and half and attn_mask is None and head <= FLASH_MAX_HEAD:
        out: torch.Tensor = aten._scaled_dot_product_flash_attention(
            query, key, value, dropout_p, is_causal, False, scale=scale
        )[0]
        return out
    if dims and same_heads:
        bias = _bias(attn_mask, query, key)
        out = aten._scaled_dot_product_efficient_attention(
            query, key, value, bias, True, dropout_p, is_causal, scale=scale
        )[0]
        return out
    return _math_attention(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)


def _bias(mask: torch.Tensor | None, query: torch.Tensor, key: torch.Tensor) -> Any:
    """A boolean mask becomes the additive bias the efficient kernel takes, as CUDA's
    ``sdpa`` does before calling it."""
    if mask is None or mask.dtype != torch.bool:
        return mask
    bias = torch.zeros(mask.shape, dtype=query.dtype, device=query.device)
    return bias.masked_fill(mask.logical_not(), -math.inf)


def _math_attention(  # noqa: PLR0917  # the same signature, passed on
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attn_mask: torch.Tensor | None,
    dropout_p: float,
    is_causal: bool,
    scale: float | None,
    enable_gqa: bool,
) -> torch.Tensor:
    out: torch.Tensor = aten._scaled_dot_product_attention_math(
        query, key, value, attn_mask, dropout_p, is_causal, scale=scale, enable_gqa=enable_gqa
    )[0]
    return out
