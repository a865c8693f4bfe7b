"""The meta pass refuses what a real run refuses: every layer, every pair of parameter and
input dtype, on cpu (plain torch) and on meta (netinspect's pass) alike."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable

import pytest
import torch
from torch import nn

from netinspect.analysis.dryrun import dry_run
from netinspect.errors import ForwardError

LAYERS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "Linear": (lambda: nn.Linear(4, 4), (2, 4)),
    "Bilinear-free MLP": (lambda: nn.Sequential(nn.Linear(4, 4), nn.GELU()), (2, 4)),
    "Conv1d": (lambda: nn.Conv1d(4, 4, 1), (2, 4, 3)),
    "Conv2d": (lambda: nn.Conv2d(4, 4, 3), (1, 4, 5, 5)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(4, 4, 3), (1, 4, 5, 5)),
    "Embedding": (lambda: nn.Embedding(10, 4), (2, 4)),
    "EmbeddingBag": (lambda: nn.EmbeddingBag(10, 4), (2, 4)),
    "LayerNorm": (lambda: nn.LayerNorm(4), (2, 4)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(4), (2, 4)),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), (2, 4)),
    "LSTM": (lambda: nn.LSTM(4, 4), (3, 2, 4)),
    "GRU": (lambda: nn.GRU(4, 4, batch_first=True), (2, 3, 4)),
    "ReLU": (nn.ReLU, (2, 4)),
    "GELU": (nn.GELU, (2, 4)),
    "SiLU": (nn.SiLU, (2, 4)),
    "Softmax": (lambda: nn.Softmax(-1), (2, 4)),
    "LogSoftmax": (lambda: nn.LogSoftmax(-1), (2, 4)),
    "PReLU": (nn.PReLU, (2, 4)),
    "TransformerEncoderLayer": (lambda: nn.TransformerEncoderLayer(4, 2, 8), (3, 2, 4)),
}
PARAM_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
INPUT_DTYPES = [*PARAM_DTYPES, torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8]
INPUT_DTYPES.append(torch.bool)


def runs(make: Callable[[], nn.Module], shape: tuple[int, ...], pd: torch.dtype,
         xd: torch.dtype, device: str) -> bool:  # fmt: skip
    with torch.device(device):
        torch.manual_seed(0)
        model = make().to(pd).eval()
    x = torch.randint(0, 2, shape).to(xd)
    if device == "meta":
        try:
            dry_run(model, x.to("meta"))
        except ForwardError:
            return False
        return True
    try:
        with torch.no_grad():
            model(x)
    except (RuntimeError, NotImplementedError, TypeError, ValueError):
        return False
    return True


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_meta_refuses_exactly_what_cpu_refuses(name: str) -> None:
    make, shape = LAYERS[name]
    differ = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for pd, xd in itertools.product(PARAM_DTYPES, INPUT_DTYPES):
            on_cpu, on_meta = runs(make, shape, pd, xd, "cpu"), runs(make, shape, pd, xd, "meta")
            if on_cpu != on_meta:
                differ.append(f"params {pd}, input {xd}: cpu {on_cpu}, meta {on_meta}")
    assert not differ, "\n".join(differ)


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.LSTM(4, 6),
        lambda: nn.LSTM(4, 6, num_layers=2, bidirectional=True, proj_size=3),
        lambda: nn.GRU(4, 6, batch_first=True),
        lambda: nn.RNN(4, 6, num_layers=3, nonlinearity="relu"),
    ],
)
@pytest.mark.parametrize("length", [1, 2, 3, 7])
def test_a_long_rnn_sequence_equals_stepping_through_it(
    make: Callable[[], nn.Module], length: int
) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = make().eval()
    assert isinstance(model, nn.RNNBase)
    shape = (2, length, 4) if model.batch_first else (length, 2, 4)
    x = torch.empty(shape, device="meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        output, _ = model(x)  # plain torch: the meta RNN steps through every time step
    report = dry_run(model, x)
    assert report.output == tuple(output.shape)
    assert report.flops == counter.get_total_flops()


def test_a_100000_step_sequence_is_answered() -> None:
    with torch.device("meta"):
        model = nn.LSTM(4, 4)
    report = dry_run(model, torch.empty(100_000, 1, 4, device="meta"))
    assert report.output == (100_000, 1, 4)
    one = dry_run(model, torch.empty(1, 1, 4, device="meta")).flops
    assert report.flops == 100_000 * one
