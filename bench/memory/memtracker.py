"""The peer: PyTorch's own experimental MemTracker (``torch.distributed._tools``) on the same
training step, under FakeTensorMode on the cpu (fake CUDA tensors abort a CPU-only build).

``peak(model_name, mode, optimizer)`` plans one of the measured configurations;
``python bench/memory/memtracker.py transformer_1b`` plans the 1.2B transformer of the
speed case, as a whole process, and prints its peak in bytes.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.distributed._tools.mem_tracker import MemTracker


def _step_peak(build: Callable[[], tuple[nn.Module, Any]], dtype: torch.dtype, optimizer: str,
               amp: bool) -> int:  # fmt: skip
    torch.set_default_dtype(dtype)
    try:
        with FakeTensorMode():
            model, spec = build()
            x = torch.randn(spec[1]) if spec[0] == "f" else torch.randint(0, spec[2], spec[1])
            params = model.parameters()
            opt: torch.optim.Optimizer = (
                torch.optim.AdamW(params, lr=1e-4, foreach=True)
                if optimizer == "adamw"
                else torch.optim.SGD(params, lr=1e-3, momentum=0.9, foreach=True)
            )
            tracker = MemTracker()
            tracker.track_external(model, opt)
            cast = torch.autocast("cpu", torch.bfloat16) if amp else contextlib.nullcontext()
            with tracker:
                for step in range(2):  # the second has the optimizer's state
                    opt.zero_grad(set_to_none=True)
                    with cast:
                        out = model(x)
                    out.float().mean().backward()
                    opt.step()
                    if step == 0:
                        tracker.reset_mod_stats()
            return int(tracker.get_tracker_snapshot("peak")[torch.device("cpu")]["Total"])
    finally:
        torch.set_default_dtype(torch.float32)


def peak(model_name: str, mode: str, optimizer: str) -> int:
    from models import MODELS  # beside this file

    dtype = torch.bfloat16 if mode == "bf16" else torch.float32
    return _step_peak(MODELS[model_name], dtype, optimizer, amp=mode == "amp")


def transformer_1b() -> tuple[nn.Module, Any]:
    """bench/specs/transformer_1b.yaml in plain torch."""
    layers = [
        nn.TransformerEncoderLayer(2048, 16, 8192, batch_first=True, norm_first=True)
        for _ in range(24)
    ]
    return nn.Sequential(*layers, nn.LayerNorm(2048)), ("f", [8, 2048, 2048])


if __name__ == "__main__":
    assert sys.argv[1:] == ["transformer_1b"], "usage: memtracker.py transformer_1b"
    print(_step_peak(transformer_1b, torch.float32, "adamw", amp=True))
