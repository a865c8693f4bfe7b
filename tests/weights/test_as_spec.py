"""A weights file where a spec goes: params, tree, shared and diff show what it holds,
from its header alone, as torch's own state dict of the same model has it."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from tests.conftest import run_netinspect
from tests.reference import REFERENCES


def _json(*args: str) -> dict:  # type: ignore[type-arg]
    result = run_netinspect(*args, "--format", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)  # type: ignore[no-any-return]


def test_params_of_a_file_are_its_state_dict(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.LazyLinear(4))
    model(torch.zeros(1, 3, 8, 8))
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    path = tmp_path / "conv"  # no extension: known by its content
    save_file(state, str(path))
    doc = _json("params", str(path), "--buffers")
    rows = {r["name"]: (tuple(r["shape"]), r["dtype"], r["buffer"]) for r in doc["parameters"]}
    assert rows == {
        name: (tuple(t.shape), str(t.dtype).removeprefix("torch."), not t.is_floating_point())
        for name, t in state.items()
    }
    # A file does not say which tensor was a buffer: floating ones show as parameters (a
    # BatchNorm's running statistics too), integer ones as buffers.
    floats = sum(t.numel() for t in state.values() if t.is_floating_point())
    assert (doc["total"], doc["buffers"]) == (floats, 1)  # num_batches_tracked


def test_tree_shared_and_diff_of_a_file_netinspect_wrote(tmp_path: Path) -> None:
    out = tmp_path / "tiny_lm.safetensors"
    init = run_netinspect(
        "init", "configs/tiny_lm.yaml", "--scheme", "xavier", "--seed", "0", "--out", str(out)
    )
    assert init.code == 0, init.err
    reference = REFERENCES["tiny_lm"]()
    tree = _json("tree", str(out))
    assert tree["root"]["params"] == sum(p.numel() for p in reference.parameters())
    shared = _json("shared", str(out))
    assert [g["names"] for g in shared["groups"]] == [["embed.weight", "head.weight"]]
    same = run_netinspect("diff", "configs/tiny_lm.yaml", str(out))
    assert same.code == 0, same.err
    assert "the same parameters" in same.out
    other = run_netinspect("diff", str(out), "configs/mlp.yaml", "--exit-code")
    assert other.code == 3
    refused = run_netinspect("dry-run", str(out))
    assert refused.code == 1
    assert "is a weights file: it holds tensors and no forward to run" in refused.err
