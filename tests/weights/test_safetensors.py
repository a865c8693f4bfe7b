"""Reading a safetensors header: what safetensors itself writes, read back exactly; every
malformed file a located error, never a traceback and never a read of the data."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from netinspect.errors import WeightsError
from netinspect.weights.safetensors import read
from tests.conftest import run_netinspect


def test_a_file_safetensors_wrote_is_read_as_it_holds_it(tmp_path: Path) -> None:
    tensors = {
        "a.weight": torch.zeros(3, 4),
        "a.bias": torch.zeros(3, dtype=torch.bfloat16),
        "ids": torch.zeros(2, 5, dtype=torch.int64),
        "flag": torch.zeros((), dtype=torch.bool),
    }
    path = tmp_path / "w.safetensors"
    save_file(tensors, str(path), metadata={"format": "pt"})
    read_back = read(str(path))
    assert {t.name: (t.shape, t.dtype, t.nbytes) for t in read_back.tensors} == {
        name: (tuple(t.shape), str(t.dtype).removeprefix("torch."), t.numel() * t.element_size())
        for name, t in tensors.items()
    }
    assert read_back.metadata == {"format": "pt"}


def _write(path: Path, header: object, data: int = 0, length: int | None = None) -> str:
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    size = len(text) if length is None else length
    path.write_bytes(struct.pack("<Q", size) + text + b"\0" * data)
    return str(path)


ENTRY = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
BAD = [
    ("short", b"", 0, 0, "a safetensors file starts with an 8-byte header length"),
    ("truncated", {"w": ENTRY}, 16, 10**6, "it is truncated"),
    ("huge", {"w": ENTRY}, 16, 500 * 2**20, "more than the limit of 104,857,600"),
    ("not json", b"{nope", 0, None, "its header is not valid JSON"),
    ("a list", [1, 2], 0, None, "its header is a JSON list, not an object"),
    ("dtype", {"w": {**ENTRY, "dtype": "F33"}}, 16, None, "tensor 'w' has the unknown dtype"),
    ("shape", {"w": {**ENTRY, "shape": [2, -1]}}, 16, None, "tensor 'w' has the shape"),
    ("bytes", {"w": {**ENTRY, "data_offsets": [0, 12]}}, 16, None, "takes 16 bytes"),
    ("outside", {"w": ENTRY}, 8, None, "ends at byte 16 of the data, but the file holds 8"),
    (
        "overlap",
        {"w": ENTRY, "v": {**ENTRY, "data_offsets": [8, 24]}},
        24,
        None,
        "overlap in the file",
    ),
    ("keys", {"w": {"dtype": "F32"}}, 0, None, "expected {dtype, shape, data_offsets}"),
    ("metadata", {"__metadata__": {"a": 1}}, 0, None, "__metadata__ is not an object of strings"),
]


@pytest.mark.parametrize(
    ("name", "header", "data", "length", "message"), BAD, ids=[b[0] for b in BAD]
)
def test_malformed_files_are_located_errors(
    tmp_path: Path, name: str, header: object, data: int, length: int | None, message: str
) -> None:
    path = _write(tmp_path / "bad.safetensors", header, data, length)
    if name == "short":  # fewer than the 8 bytes of the length
        Path(path).write_bytes(b"\x01\x02")
    with pytest.raises(WeightsError) as info:
        read(path)
    assert message in info.value.message
    assert info.value.location is not None
    assert info.value.location.file == path


def test_a_malformed_file_through_the_command_is_exit_1_without_a_traceback(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path / "bad.safetensors", {"w": ENTRY}, 8)
    result = run_netinspect("check", "configs/mlp.yaml", "--weights", path)
    assert result.code == 1
    assert result.err.startswith(f"{path}: error: not a valid safetensors file: tensor 'w'")
    assert "Traceback" not in result.err
