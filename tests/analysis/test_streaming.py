"""``init --out DIR/``: a checkpoint in Hugging Face's sharded layout, written a tensor (or
a chunk) at a time, holding exactly what ``init --out FILE`` writes for the same seed."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import netinspect
from netinspect.errors import ExitCode
from tests.conftest import run_netinspect

TIED = """\
name: tiedm
model:
  embed: {Embedding: [1001, 96]}
  body:
    - Linear: [96, 130]
    - LayerNorm: 130
    - Linear: [130, 96]
  norm: {BatchNorm1d: 96}
  head: {Linear: {in_features: 96, out_features: 1001, bias: false}}
ties:
  - [embed.weight, head.weight]
"""


def _spec(tmp_path: Path, text: str = TIED) -> str:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return str(path)


def _shards(folder: Path) -> dict[str, torch.Tensor]:
    tensors: dict[str, torch.Tensor] = {}
    for shard in sorted(folder.glob("*.safetensors")):
        tensors.update(load_file(str(shard)))
    return tensors


@pytest.mark.parametrize("scheme", ["kaiming", "normal:std=0.02", "orthogonal", "default"])
def test_shards_hold_exactly_what_one_file_holds(tmp_path: Path, scheme: str) -> None:
    spec = _spec(tmp_path)
    one, folder = tmp_path / "one.safetensors", tmp_path / "ck"
    alone = run_netinspect(
        "init", spec, "--scheme", scheme, "--seed", "5", "--out", str(one), "-f", "json"
    )
    many = run_netinspect("init", spec, "--scheme", scheme, "--seed", "5", "--out", f"{folder}/",
                          "--shard-size", "100KB", "-f", "json")  # fmt: skip
    assert alone.code == many.code == 0, many.err
    expected, got = load_file(str(one)), _shards(folder)
    assert sorted(got) == sorted(expected)
    for name, tensor in expected.items():
        assert torch.equal(got[name], tensor), name
    # The report measures the same values in the same blocks: the same statistics.
    assert json.loads(many.out)["parameters"] == json.loads(alone.out)["parameters"]


def test_the_index_maps_every_stored_name_and_records_the_ties(tmp_path: Path) -> None:
    folder = tmp_path / "ck"
    result = run_netinspect("init", _spec(tmp_path), "--scheme", "xavier", "--seed", "1",
                            "--out", f"{folder}/", "--shard-size", "100KB",
                            "-f", "json")  # fmt: skip
    assert result.code == 0, result.err
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        *(f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)),
        "model.safetensors.index.json",
    ]
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    model = netinspect.build(netinspect.load(_spec(tmp_path))).module
    state = list(model.state_dict())
    ties = index["metadata"]["netinspect"]["ties"]
    assert ties == {"head.weight": "embed.weight"}
    assert sorted([*index["weight_map"], *ties]) == sorted(state)
    assert "head.weight" not in index["weight_map"]
    sizes = 0
    for shard in set(index["weight_map"].values()):
        with open(folder / shard, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
        assert header.pop("__metadata__")["format"] == "pt"
        sizes += sum(e["data_offsets"][1] - e["data_offsets"][0] for e in header.values())
        assert all(index["weight_map"][n] == shard for n in header)
    assert index["metadata"]["total_size"] == sizes
    plan = json.loads(result.out)["plan"]
    assert [s["bytes"] for s in plan["shards"]] == [
        1001 * 96 * 4,
        96 * 130 * 4 + 130 * 4 + 260 * 4,
        plan["shards"][2]["bytes"],
    ]
    assert plan["total_bytes"] == sizes


def test_loading_it_back_gives_the_model_tied(tmp_path: Path) -> None:
    folder = tmp_path / "ck"
    assert run_netinspect("init", _spec(tmp_path), "--scheme", "xavier", "--seed", "2",
                          "--out", f"{folder}/", "--shard-size", "100KB").code == 0  # fmt: skip
    model = netinspect.build(netinspect.load(_spec(tmp_path)), device="cpu").module
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    state = _shards(folder)
    for alias, kept in index["metadata"]["netinspect"]["ties"].items():
        state[alias] = state[kept]
    model.load_state_dict(state)
    assert model.get_parameter("head.weight") is model.get_parameter("embed.weight")
    # netinspect reads it as a weights file: params, and check --weights.
    params = json.loads(run_netinspect("params", str(folder), "-f", "json").out)
    floating = [b for b in model.buffers() if b.is_floating_point()]  # a file has no buffers
    assert params["total"] == sum(t.numel() for t in [*model.parameters(), *floating])
    loads = run_netinspect("check", _spec(tmp_path), "--weights", str(folder), "-f", "json")
    assert loads.code == 0, loads.out
    assert json.loads(loads.out)["weights"]["problems"] == []


def test_one_shard_is_model_safetensors_without_an_index(tmp_path: Path) -> None:
    folder = tmp_path / "ck"
    result = run_netinspect("init", _spec(tmp_path), "--scheme", "kaiming", "--out", f"{folder}/")
    assert result.code == 0, result.err
    assert [p.name for p in folder.iterdir()] == ["model.safetensors"]
    assert "Saved: " in result.out
    assert result.err.startswith(f"plan: {folder}/: 1 shard, ")


def test_a_checkpoint_there_is_kept_without_force_and_replaced_whole_with_it(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "ck"
    args = ["init", _spec(tmp_path), "--scheme", "kaiming", "--out", f"{folder}/"]
    assert run_netinspect(*args, "--shard-size", "100KB").code == 0
    again = run_netinspect(*args)
    assert again.code == ExitCode.BAD_INPUT
    assert "already holds a checkpoint" in again.err
    assert run_netinspect(*args, "--force").code == 0  # one shard now: the old three go
    assert sorted(p.name for p in folder.iterdir()) == ["model.safetensors"]


def test_a_write_that_fails_leaves_nothing_that_looks_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netinspect.analysis import streaming

    spec = netinspect.load(_spec(tmp_path))
    rules = [netinspect.api.rule(netinspect.scheme("kaiming"))]
    folder = tmp_path / "ck"
    planned, plan = netinspect.plan_checkpoint(spec, rules, str(folder), shard_size=100_000)
    real = streaming._Maker.data
    calls = []

    def failing(self: streaming._Maker, unit: streaming.Unit):  # type: ignore[no-untyped-def]
        calls.append(unit)
        if len(calls) == 6:  # in the second shard
            raise OSError(28, "No space left on device")
        yield from real(self, unit)

    monkeypatch.setattr(streaming._Maker, "data", failing)
    with pytest.raises(netinspect.errors.OutputFileError, match="No space left on device"):
        netinspect.write_checkpoint(planned, plan, str(folder), seed=0)
    left = sorted(p.name for p in folder.iterdir())
    assert left  # the shards before the failure, whole
    assert "model.safetensors.index.json" not in left  # no index: not a checkpoint
    assert "model-00003-of-00003.safetensors" not in left
    assert not any(name.endswith(".tmp") for name in os.listdir(folder))


def test_a_tensor_of_several_chunks_is_streamed_chunk_by_chunk(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "model: [{Linear: [2048, 1100]}, {Linear: [1100, 3]}]\n")
    one, folder = tmp_path / "one.safetensors", tmp_path / "ck"
    assert (
        run_netinspect("init", spec, "--scheme", "kaiming", "--seed", "9", "--out", str(one)).code
        == 0
    )
    result = run_netinspect("init", spec, "--scheme", "kaiming", "--seed", "9",
                            "--out", f"{folder}/", "--shard-size", "1MB", "-f", "json")  # fmt: skip
    assert result.code == 0, result.err
    plan = json.loads(result.out)["plan"]
    assert plan["largest_unit_bytes"] == 2**20 * 4  # one chunk, not the 9 MB weight
    assert plan["tensors_made_with_their_layer"] == 0
    assert torch.equal(_shards(folder)["0.weight"], load_file(str(one))["0.weight"])


def test_what_cannot_be_streamed_is_refused_up_front(tmp_path: Path) -> None:
    lazy = _spec(tmp_path, "input: [2, 4]\nmodel: [{LazyLinear: 8}]\n")
    result = run_netinspect("init", lazy, "--scheme", "kaiming", "--out", f"{tmp_path}/ck/")
    assert result.code == ExitCode.BAD_INPUT
    assert "cannot shape lazy layers" in result.err
    big = _spec(tmp_path, "model: [{Linear: [1000, 1000]}, {LayerNorm: 1000}]\n")
    small = run_netinspect("init", big, "--scheme", "orthogonal", "--out", f"{tmp_path}/ck2/",
                           "--max-memory", "1MB")  # fmt: skip
    assert small.code == ExitCode.BAD_INPUT
    assert "for its largest layer, but only" in small.err
    assert not (tmp_path / "ck2").exists()
