"""``torchrun -m netinspect init``: ranks make their rows; one process loads the same bits.

The runs start real processes with torchrun and gloo (2 and 4 ranks; 4 oversubscribe this
2-core machine, which works): seconds each, mostly imports, so they are marked slow and
run by ``make lint``. What they hold: loading the checkpoint in one process gives, bit for
bit, what ``init --out FILE`` and ``init --out DIR/`` give for the seed; ties, shapes, the
whole tensor's fan; and no rank's rows a copy of another's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from safetensors.torch import load_file

import netinspect
from netinspect.analysis.distributed import rows_of
from tests.analysis.test_streaming import TIED, _shards
from tests.conftest import ROOT, run_netinspect


@given(st.integers(0, 5000), st.integers(1, 9))
def test_a_rank_s_rows_are_torch_chunk_s(rows: int, ranks: int) -> None:
    pieces = torch.arange(rows).chunk(ranks) if rows else ()
    expected = [(int(p[0]), int(p[-1]) + 1) for p in pieces if p.numel()]
    got = [rows_of(rows, r, ranks) for r in range(ranks)]
    assert [g for g in got if g[0] < g[1]] == expected
    assert sum(stop - start for start, stop in got) == rows


def torchrun(ranks: int, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).parent / "torchrun")
    return subprocess.run(
        [exe, "--nproc-per-node", str(ranks), "--rdzv-backend", "c10d",
         "--rdzv-endpoint", "localhost:0", "-m", "netinspect", "init", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def load_dcp(spec: str, folder: Path) -> dict[str, torch.Tensor]:
    import torch.distributed.checkpoint as dcp

    model = netinspect.build(netinspect.load(spec), device="cpu").module
    ties = json.loads((folder / "netinspect.json").read_text())["ties"]
    state = {k: v for k, v in model.state_dict().items() if k not in ties}
    dcp.load(state, checkpoint_id=str(folder))  # type: ignore[attr-defined]  # torch's own
    return state


@pytest.mark.slow
@pytest.mark.parametrize(("ranks", "scheme"), [(2, "kaiming"), (4, "default"), (4, "orthogonal")])
def test_every_layout_holds_the_same_bits(tmp_path: Path, ranks: int, scheme: str) -> None:
    spec = tmp_path / "m.yaml"
    spec.write_text(TIED)
    one, many = tmp_path / "one.safetensors", tmp_path / "many"
    assert (
        run_netinspect(
            "init", str(spec), "--scheme", scheme, "--seed", "11", "--out", str(one)
        ).code
        == 0
    )
    assert run_netinspect("init", str(spec), "--scheme", scheme, "--seed", "11", "--out",
                          f"{many}/", "--shard-size", "100KB").code == 0  # fmt: skip
    run = torchrun(ranks, "m.yaml", "--scheme", scheme, "--seed", "11", "--out", "ck/",
                   "--format", "json", cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)  # rank 0 alone reports
    assert (report["ranks"], report["ties"]) == (ranks, {"head.weight": "embed.weight"})
    distcp = sorted(p.name for p in (tmp_path / "ck").glob("*.distcp"))
    assert distcp == [f"__{r}_0.distcp" for r in range(ranks)]
    loaded, single, streamed = (
        load_dcp(str(spec), tmp_path / "ck"),
        load_file(str(one)),
        _shards(many),
    )
    assert sorted(loaded) == sorted(single) == sorted(streamed)
    for name, tensor in single.items():
        assert torch.equal(loaded[name], tensor), name
        assert torch.equal(streamed[name], tensor), name
    # No rank's rows a copy of another's (the defect of running each shard's own init).
    rows = loaded["embed.weight"].chunk(ranks)
    assert not any(torch.equal(rows[0][:100], r[:100]) for r in rows[1:])


@pytest.mark.slow
def test_a_checkpoint_there_is_refused_by_every_rank(tmp_path: Path) -> None:
    spec = tmp_path / "m.yaml"
    spec.write_text(TIED)
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / ".metadata").write_bytes(b"old")
    run = torchrun(2, "m.yaml", "--scheme", "kaiming", "--out", "ck/", cwd=tmp_path)
    assert run.returncode != 0
    assert "already holds a checkpoint (.metadata)" in run.stderr


@pytest.mark.slow
def test_safetensors_across_ranks_are_the_one_process_files_byte_for_byte(tmp_path: Path) -> None:
    spec = tmp_path / "m.yaml"
    spec.write_text(TIED)
    alone = run_netinspect("init", str(spec), "--scheme", "xavier", "--seed", "4",
                           "--out", f"{tmp_path / 'one'}/", "--shard-size", "100KB",
                           "-f", "json")  # fmt: skip
    assert alone.code == 0, alone.err
    run = torchrun(3, "m.yaml", "--scheme", "xavier", "--seed", "4", "--out", "ck/",
                   "--shard-size", "100KB", "--checkpoint-format", "safetensors", "-f", "json",
                   cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    ours = sorted((tmp_path / "ck").iterdir())
    assert [p.name for p in ours] == sorted(p.name for p in (tmp_path / "one").iterdir())
    for path in ours:  # each shard written by its rank, the index by rank 0
        assert path.read_bytes() == (tmp_path / "one" / path.name).read_bytes(), path.name
    # rank 0 gathered every rank's statistics: the report of one process
    assert json.loads(run.stdout)["parameters"] == json.loads(alone.out)["parameters"]


def test_dcp_needs_torchrun(tmp_path: Path) -> None:
    spec = tmp_path / "m.yaml"
    spec.write_text(TIED)
    result = run_netinspect("init", str(spec), "--scheme", "xavier", "--out", f"{tmp_path}/ck/",
                            "--checkpoint-format", "dcp")  # fmt: skip
    assert result.code == 1
    assert "torch.distributed.checkpoint is written across ranks" in result.err
