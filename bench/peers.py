"""The peer side of the benchmark: the same models written in plain torch, summarized by
torchinfo 1.8.0 on the meta device. Run as a whole process: ``python bench/peers.py deep``."""

from __future__ import annotations

import sys

import torch
from torch import nn


def deep() -> tuple[nn.Module, tuple[int, ...]]:
    """bench/specs/deep.yaml: 2000 x (LayerNorm, Linear x 3, GELU, Linear) at width 256."""
    blocks = [
        nn.Sequential(
            nn.LayerNorm(256),
            nn.Linear(256, 768),
            nn.Linear(768, 256),
            nn.Linear(256, 1024),
            nn.GELU(),
            nn.Linear(1024, 256),
        )
        for _ in range(2000)
    ]
    return nn.Sequential(*blocks), (4, 256)


def huge() -> tuple[nn.Module, tuple[int, ...]]:
    """configs/huge.yaml: 80 x (LayerNorm, Linear x 4) at width 8192, 75 billion parameters."""
    blocks = [
        nn.Sequential(
            nn.LayerNorm(8192),
            nn.Linear(8192, 24576),
            nn.Linear(24576, 8192),
            nn.Linear(8192, 32768),
            nn.Linear(32768, 8192),
        )
        for _ in range(80)
    ]
    return nn.Sequential(*blocks), (1, 16, 8192)


def init_plain(out: str) -> None:
    """bench/specs/billion.yaml the plain way: build, kaiming_uniform_ weights, zero biases,
    save with safetensors. The work `netinspect init --scheme kaiming --out` does."""
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = nn.Sequential(*(nn.Linear(8192, 8192) for _ in range(16)))
    with torch.no_grad():
        for layer in model:
            assert isinstance(layer, nn.Linear)
            nn.init.kaiming_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    save_file(model.state_dict(), out)


MODELS = {"deep": deep, "huge": huge}

if __name__ == "__main__":
    if sys.argv[1] == "init":
        init_plain(sys.argv[2])
        sys.exit()
    from torchinfo import summary

    with torch.device("meta"):
        model, input_size = MODELS[sys.argv[1]]()
    stats = summary(model, input_size=input_size, device="meta", depth=10, verbose=0)
    print(stats.total_params)
