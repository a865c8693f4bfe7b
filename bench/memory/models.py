"""The models whose real CUDA memory is recorded in h100_truth.json (plain torch).

Each function returns (model, input) where input is ("f", shape) for float data in the
parameters' dtype, or ("i", shape, vocab) for int64 indices.
"""

from __future__ import annotations

from typing import Any

from torch import nn

Example = tuple[nn.Module, tuple[Any, ...]]


def mlp_dev() -> Example:
    return nn.Sequential(
        nn.Linear(784, 2048),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(2048, 2048),
        nn.ReLU(),
        nn.Linear(2048, 10),
    ), ("f", [1024, 784])


def cnn_dev() -> Example:
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1),
        nn.BatchNorm2d(128),
        nn.GELU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(128, 100),
    ), ("f", [32, 3, 96, 96])


def enc_dev() -> Example:
    emb = nn.Embedding(8000, 256)
    head = nn.Linear(256, 8000, bias=False)
    head.weight = emb.weight  # tied
    blocks = [
        nn.TransformerEncoderLayer(
            256, 4, 1024, dropout=0.1, activation="gelu", batch_first=True, norm_first=False
        )
        for _ in range(4)
    ]
    return nn.Sequential(emb, *blocks, nn.LayerNorm(256), head), ("i", [16, 256], 8000)


def deep_dev() -> Example:
    return nn.Sequential(
        *[m for _ in range(32) for m in (nn.Linear(384, 384), nn.LayerNorm(384), nn.GELU())]
    ), ("f", [2048, 384])


MODELS = {"mlp_dev": mlp_dev, "cnn_dev": cnn_dev, "enc_dev": enc_dev, "deep_dev": deep_dev}
