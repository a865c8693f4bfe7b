"""The configs' networks written by hand in plain torch: the ground truth the tests compare to.

Each function builds exactly what the config of the same name describes, the way a PyTorch
user would write it, so any difference is a netinspect bug.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import nn


def mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))


def rgnet() -> nn.Sequential:
    def block1() -> nn.Sequential:
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())

    def block2() -> nn.Sequential:
        net = nn.Sequential()
        for i in range(4):
            net.add_module(f"block {i}", block1())
        return net

    return nn.Sequential(block2(), nn.Linear(4, 1))


def tied() -> nn.Sequential:
    shared = nn.Linear(8, 8)
    return nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1)
    )


def lazy_mlp() -> nn.Sequential:
    return nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))


def lazy_cnn() -> nn.Sequential:
    def conv_block() -> nn.Sequential:
        return nn.Sequential(
            nn.LazyConv2d(out_channels=16, kernel_size=3, padding=1),
            nn.LazyBatchNorm2d(),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )

    return nn.Sequential(
        OrderedDict(
            features=nn.Sequential(conv_block(), conv_block()),
            head=nn.Sequential(nn.Flatten(), nn.LazyLinear(10)),
        )
    )


def tiny_lm() -> nn.Sequential:
    def mlp_block() -> nn.Sequential:
        return nn.Sequential(nn.LayerNorm(64), nn.Linear(64, 256), nn.GELU(), nn.Linear(256, 64))

    embed = nn.Embedding(1000, 64)
    head = nn.Linear(64, 1000, bias=False)
    head.weight = embed.weight  # weight tying: one Parameter, two names
    return nn.Sequential(
        OrderedDict(
            embed=embed,
            layers=nn.Sequential(mlp_block(), mlp_block()),
            norm=nn.LayerNorm(64),
            head=head,
        )
    )


def huge() -> nn.Sequential:
    # 75 billion parameters: only ever built on the meta device (280 GiB in float32).
    with torch.device("meta"):
        return nn.Sequential(
            *(
                nn.Sequential(
                    nn.LayerNorm(8192),
                    nn.Linear(8192, 24576),
                    nn.Linear(24576, 8192),
                    nn.Linear(8192, 32768),
                    nn.Linear(32768, 8192),
                )
                for _ in range(80)
            )
        )


REFERENCES: dict[str, Callable[[], nn.Sequential]] = {
    "mlp": mlp,
    "rgnet": rgnet,
    "tied": tied,
    "lazy_mlp": lazy_mlp,
    "lazy_cnn": lazy_cnn,
    "tiny_lm": tiny_lm,
    "huge": huge,
}
