"""check --weights against torch's own load_state_dict on the same pairs: the same names
missing, unexpected and mismatched."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from tests.conftest import run_netinspect
from tests.reference import REFERENCES

State = dict[str, torch.Tensor]
CHANGES: dict[str, Callable[[State], State]] = {
    "as saved": lambda sd: sd,
    "a renamed layer": lambda sd: {
        k.replace("layers.0.1", "layers.0.lin"): v for k, v in sd.items()
    },
    "a key dropped": lambda sd: {k: v for k, v in sd.items() if k != "norm.bias"},
    "a wider head": lambda sd: {**sd, "norm.weight": torch.zeros(65)},
    "an extra key": lambda sd: {**sd, "extra.scale": torch.zeros(1)},
    "bfloat16": lambda sd: {k: v.to(torch.bfloat16) for k, v in sd.items()},
}


def torch_says(model: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, set[str]]:
    """What load_state_dict reports: its own missing and unexpected keys, and the names of
    the size mismatches its error lists."""
    try:
        result = model.load_state_dict(state, strict=False)
        mismatched: set[str] = set()
    except RuntimeError as exc:
        mismatched = set(re.findall(r"size mismatch for ([\w.]+)", str(exc)))
        kept = {k: v for k, v in state.items() if k not in mismatched}
        result = model.load_state_dict(kept, strict=False)
    return {
        "missing": set(result.missing_keys) - mismatched,
        "unexpected": set(result.unexpected_keys),
        "shape": mismatched,
    }


@pytest.mark.parametrize("change", CHANGES)
def test_the_same_problems_torch_finds(change: str, tmp_path: Path) -> None:
    model = REFERENCES["tiny_lm"]()
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    state.pop("head.weight")  # tied to embed.weight: one tensor, saved once (as safetensors must)
    changed = CHANGES[change](state)
    path = tmp_path / "w.safetensors"
    save_file(changed, str(path))
    result = run_netinspect("check", "configs/tiny_lm.yaml", "--weights", str(path), "-f", "json")
    doc = json.loads(result.out)["weights"]
    ours: dict[str, set[str]] = {
        "missing": set(),
        "unexpected": set(),
        "shape": set(),
        "dtype": set(),
    }
    for problem in doc["problems"]:
        ours.setdefault(problem["kind"], set()).add(problem["name"])
    theirs = torch_says(REFERENCES["tiny_lm"](), dict(changed))
    # The file lacks head.weight (tied: safetensors stores one tensor once, and this file
    # says nothing of ties), so torch's strict load misses it, and so do we.
    assert {"missing", "unexpected", "shape"} <= set(ours)
    assert (ours["missing"], ours["unexpected"], ours["shape"]) == (
        theirs["missing"], theirs["unexpected"], theirs["shape"],
    )  # fmt: skip
    assert result.code == 3  # head.weight is missing from every one of them
    if change == "a renamed layer":
        hints = {p["name"]: p["hint"] for p in doc["problems"]}
        assert hints["layers.0.lin.weight"] == "did you mean 'layers.0.1.weight'?"
    if change == "bfloat16":
        assert ours["dtype"]
        assert all(not p["fatal"] for p in doc["problems"] if p["kind"] == "dtype")


def test_a_file_netinspect_wrote_loads_with_its_ties(tmp_path: Path) -> None:
    out = tmp_path / "w.safetensors"
    init = run_netinspect("init", "configs/tiny_lm.yaml", "--scheme", "xavier", "--seed", "0",
                          "--out", str(out))  # fmt: skip
    assert init.code == 0, init.err
    ok = run_netinspect("check", "configs/tiny_lm.yaml", "--weights", str(out))
    assert ok.code == 0, ok.out + ok.err
    assert "model.load_state_dict(weights) would work: 16 names in the model, 16 in" in ok.out
    loose = run_netinspect("check", "configs/mlp.yaml", "--weights", str(out), "--non-strict")
    assert loose.code == 0  # names apart: warnings only, as strict=False loads
    assert "load_state_dict(weights, strict=False) would work" in loose.out
    strict = run_netinspect("check", "configs/mlp.yaml", "--weights", str(out))
    assert strict.code == 3
