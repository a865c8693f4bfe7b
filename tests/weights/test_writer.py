"""The sharded writer's plan: huggingface_hub's greedy split, and headers safetensors reads."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from safetensors import safe_open

from netinspect.weights import safetensors
from netinspect.weights.writer import SINGLE, Entry, header, plan_shards

ENTRIES = st.lists(
    st.builds(
        Entry,
        name=st.text("abc.", min_size=1, max_size=6),
        dtype=st.sampled_from(["float32", "bfloat16", "int64"]),
        shape=st.lists(st.integers(0, 40), max_size=3).map(tuple),
    ),
    max_size=12,
)


@given(ENTRIES, st.integers(1, 4000))
def test_shards_fill_greedily_in_order(entries: list[Entry], size: int) -> None:
    shards = plan_shards(entries, size)
    assert [e for s in shards for e in s.entries] == entries  # every entry, in order, once
    for i, shard in enumerate(shards):
        assert shard.nbytes <= size or len(shard.entries) == 1  # only a big one goes alone
        if i + 1 < len(shards):  # the next entry did not fit
            assert shard.nbytes + shards[i + 1].entries[0].nbytes > size
    if len(shards) == 1:
        assert shards[0].file == SINGLE
    else:
        assert [s.file for s in shards][
            -1
        ] == f"model-{len(shards):05d}-of-{len(shards):05d}.safetensors"


def test_a_header_is_one_safetensors_reads(tmp_path: Path) -> None:
    entries = [Entry("a", "float32", (3, 2)), Entry("b", "bfloat16", (5,)), Entry("c", "int64", ())]
    (shard,) = plan_shards(entries, 10**6)
    path = tmp_path / "x.safetensors"
    path.write_bytes(header(shard, {"format": "pt"}) + bytes(shard.nbytes))
    ours = safetensors.read(str(path))
    assert [(t.name, t.dtype, t.shape) for t in ours.tensors] == [
        ("a", "float32", (3, 2)),
        ("b", "bfloat16", (5,)),
        ("c", "int64", ()),
    ]
    with safe_open(str(path), "pt") as f:
        assert f.metadata() == {"format": "pt"}
        assert list(f.get_tensor("a").shape) == [3, 2]
    assert (len(header(shard, {})) - 8) % 8 == 0
