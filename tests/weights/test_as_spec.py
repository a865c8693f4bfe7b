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
    for command in (("dry-run", str(out)), ("memory", str(out), "--input", "2x16:int64")):
        refused = run_netinspect(*command)
        assert refused.code == 1
        assert refused.err.startswith(f"{out}: error: tiny_lm.safetensors is a weights file")
        assert "Traceback" not in refused.err


def _shard(tmp_path: Path) -> tuple[Path, dict[str, torch.Tensor]]:
    """tiny_lm's state dict in two shards, with the index transformers writes."""
    state = {
        k: v.detach().clone().contiguous() for k, v in REFERENCES["tiny_lm"]().state_dict().items()
    }
    state.pop("head.weight")  # tied: stored once
    names = sorted(state)
    shards = {
        "model-00001-of-00002.safetensors": names[:5],
        "model-00002-of-00002.safetensors": names[5:],
    }
    for shard, keys in shards.items():
        save_file({k: state[k] for k in keys}, str(tmp_path / shard))
    weight_map = {k: shard for shard, keys in shards.items() for k in keys}
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}))
    return index, state


def test_a_sharded_checkpoint_is_read_from_its_index_or_its_folder(tmp_path: Path) -> None:
    index, state = _shard(tmp_path)
    for where in (index, tmp_path):
        doc = _json("params", str(where))
        assert {r["name"]: tuple(r["shape"]) for r in doc["parameters"]} == {
            k: tuple(v.shape) for k, v in state.items()
        }
    loads = run_netinspect("check", "configs/tiny_lm.yaml", "--weights", str(tmp_path))
    assert loads.code == 3  # head.weight: stored once, and this index says nothing of ties
    assert "head.weight" in loads.out


def test_an_index_that_disagrees_with_its_shards_is_exit_1(tmp_path: Path) -> None:
    index, _ = _shard(tmp_path)
    doc = json.loads(index.read_text())
    doc["weight_map"]["layers.0.0.weight"] = "model-00002-of-00002.safetensors"
    index.write_text(json.dumps(doc))
    moved = run_netinspect("params", str(index))
    assert moved.code == 1
    assert "which does not hold it" in moved.err or "which the index does not name" in moved.err
    doc["weight_map"]["layers.0.0.weight"] = "model-00009-of-00002.safetensors"
    index.write_text(json.dumps(doc))
    missing = run_netinspect("params", str(index))
    assert missing.code == 1
    assert "names the shard 'model-00009-of-00002.safetensors'" in missing.err
    index.write_text("{nope")
    broken = run_netinspect("params", str(index))
    assert broken.code == 1
    assert "the index is not valid JSON" in broken.err
    assert "Traceback" not in broken.err + missing.err + moved.err


class _Code:
    """A pickle that would run a command: what a hostile checkpoint holds."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, ("touch PWNED",))


def test_torch_save_files_are_read_weights_only_on_meta(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8))
    tied = nn.Linear(8, 8)
    state = dict(model.state_dict())
    files = {
        "plain.pt": state,
        "lightning.ckpt": {"state_dict": state, "epoch": 3},
        "legacy": state,
    }
    for name, value in files.items():
        torch.save(value, tmp_path / name, _use_new_zipfile_serialization=name != "legacy")
        doc = _json("params", str(tmp_path / name), "--buffers")
        assert {r["name"]: tuple(r["shape"]) for r in doc["parameters"]} == {
            k: tuple(v.shape) for k, v in state.items()
        }
    torch.save({"a.weight": tied.weight, "b.weight": tied.weight}, tmp_path / "tied.pt")
    shared = _json("shared", str(tmp_path / "tied.pt"))
    assert [g["names"] for g in shared["groups"]] == [["a.weight", "b.weight"]]
    torch.save({"x": _Code()}, tmp_path / "hostile.pt")
    hostile = run_netinspect("params", str(tmp_path / "hostile.pt"), cwd=tmp_path)
    assert hostile.code == 1
    assert "nothing of it was run" in hostile.err
    assert not (tmp_path / "PWNED").exists()
    torch.save({"epoch": 3}, tmp_path / "other.pt")
    other = run_netinspect("params", str(tmp_path / "other.pt"))
    assert other.code == 1
    assert "it holds a dict of 'epoch', not a state dict" in other.err


def test_a_distributed_checkpoint_folder_is_read_from_its_metadata(tmp_path: Path) -> None:
    import pickle
    import warnings

    from torch.distributed.checkpoint.state_dict_saver import save as dcp_save

    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8))
    folder = tmp_path / "checkpoint"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # single process: torch says it assumes so
        dcp_save(model.state_dict(), checkpoint_id=str(folder))
    doc = _json("params", str(folder), "--buffers")
    assert {r["name"]: tuple(r["shape"]) for r in doc["parameters"]} == {
        k: tuple(v.shape) for k, v in model.state_dict().items()
    }
    (folder / ".metadata").write_bytes(pickle.dumps(_Code()))
    hostile = run_netinspect("params", str(folder), cwd=tmp_path)
    assert hostile.code == 1
    assert "it names posix.system" in hostile.err
    assert "refused before anything in it was built" in hostile.err
    assert not (tmp_path / "PWNED").exists()
