"""Writing a checkpoint in the Hugging Face layout, a piece at a time, never whole in memory.

The layout is ``huggingface_hub``'s (``split_state_dict_into_shards_factory``): tensors fill
shards greedily in the state dict's order, a tensor bigger than the shard size gets a shard
of its own, and the shards are ``model-00001-of-0000N.safetensors`` beside
``model.safetensors.index.json`` (``{"metadata": {"total_size": ...}, "weight_map": {name:
shard}}``); one shard is ``model.safetensors`` with no index. A tied tensor is stored once,
under its first name; the other names are left out of ``weight_map`` and recorded in the
index's metadata (``netinspect.ties``), as huggingface_hub records the names it drops.

Each shard's header is computed before its data (the names, dtypes, shapes and offsets
are known on meta), the data is streamed in after it, and the file is fsynced and moved
into place whole (``files.atomic_write``). The index is written last: it is the mark of a
complete checkpoint, and an old one is removed before the first shard is written, so a
run that stops (an error, Ctrl-C) never leaves a checkpoint that looks complete.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from netinspect.errors import Location, OutputFileError
from netinspect.weights.safetensors import DTYPES

INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"
_SHARD = re.compile(r"model-\d{5}-of-\d{5}\.safetensors")
_CODES = {torch_name: (code, size) for code, (torch_name, size) in DTYPES.items()}

Bytes = bytes | memoryview


@dataclass(frozen=True)
class Entry:
    """One stored tensor: its (first) name, dtype name (``float32``) and shape."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.numel * _CODES[self.dtype][1]


@dataclass(frozen=True)
class Shard:
    file: str
    entries: tuple[Entry, ...]

    @property
    def nbytes(self) -> int:
        return sum(e.nbytes for e in self.entries)


def plan_shards(entries: Sequence[Entry], shard_size: int) -> list[Shard]:
    """The entries in shards of at most ``shard_size`` bytes of data, in order; one entry
    larger than that is a shard of its own."""
    groups: list[list[Entry]] = []
    size = 0
    for entry in entries:
        if not groups or (size + entry.nbytes > shard_size and groups[-1]):
            groups.append([])
            size = 0
        groups[-1].append(entry)
        size += entry.nbytes
    if len(groups) <= 1:
        return [Shard(SINGLE, tuple(groups[0] if groups else ()))]
    n = len(groups)
    return [
        Shard(f"model-{i:05d}-of-{n:05d}.safetensors", tuple(g)) for i, g in enumerate(groups, 1)
    ]


def header(shard: Shard, metadata: dict[str, str]) -> bytes:
    """The shard's safetensors header: its 8-byte little-endian length, then the JSON,
    padded with spaces to a multiple of 8 bytes, as safetensors writes it."""
    described: dict[str, Any] = {"__metadata__": metadata}
    offset = 0
    for entry in shard.entries:
        code = _CODES[entry.dtype][0]
        described[entry.name] = {
            "dtype": code,
            "shape": list(entry.shape),
            "data_offsets": [offset, offset + entry.nbytes],
        }
        offset += entry.nbytes
    text = json.dumps(described, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text


def prepare(folder: str, *, force: bool, remove_index: bool = True) -> None:
    """Make ``folder`` ready for a checkpoint: created if missing (its parent must exist);
    one already there is refused without ``force``, and with it its index is removed first
    (``remove_index``: by one process of several, once all have looked), so nothing there
    looks complete until the new index is written."""
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise OutputFileError(f"cannot write {folder}: it is not a folder", Location(folder))
    parent = os.path.dirname(os.path.abspath(folder))
    if not os.path.isdir(parent):
        raise OutputFileError(
            f"cannot write {folder}: the directory {parent} does not exist", Location(folder)
        )
    try:
        os.makedirs(folder, exist_ok=True)
        found = [n for n in os.listdir(folder) if n in (INDEX, SINGLE) or _SHARD.fullmatch(n)]
    except OSError as exc:
        raise OutputFileError(
            f"cannot write {folder}: {exc.strerror or exc}", Location(folder)
        ) from None
    if found and not force:
        raise OutputFileError(
            f"{folder} already holds a checkpoint ({', '.join(sorted(found)[:3])})",
            Location(folder),
            "Pass --force to replace it.",
        )
    if remove_index and INDEX in found:
        remove_old_index(folder)


def remove_old_index(folder: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(folder, INDEX))


def check_disk(folder: str, needed: int) -> int:
    """The bytes free where ``folder`` is; refuse when ``needed`` is more."""
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise OutputFileError(
            f"cannot write {folder}: the checkpoint needs {needed:,} bytes and the disk has "
            f"{free:,} free",
            Location(folder),
        )
    return free


def write(
    folder: str,
    shards: Sequence[Shard],
    data: Callable[[Entry], Iterable[Bytes]],
    *,
    metadata: dict[str, str],
    index_metadata: dict[str, Any],
) -> None:
    """Each shard (``data(entry)`` gives an entry's bytes, in order, a piece at a time),
    then the index (:func:`finish`)."""
    write_shards(folder, shards, data, metadata=metadata)
    finish(folder, shards, index_metadata)


def write_shards(
    folder: str,
    shards: Sequence[Shard],
    data: Callable[[Entry], Iterable[Bytes]],
    *,
    metadata: dict[str, str],
    mine: Callable[[int], bool] = lambda number: True,
) -> None:
    """The shards (those ``mine(i)`` keeps, when processes share them out), each whole."""
    from netinspect.files import atomic_write

    for number, shard in enumerate(shards):
        if mine(number):
            path = os.path.join(folder, shard.file)
            atomic_write(path, _shard_writer(shard, data, metadata), force=True)


def finish(folder: str, shards: Sequence[Shard], index_metadata: dict[str, Any]) -> None:
    """The index, last, once every shard is in place; then an earlier checkpoint's shards
    that this one did not overwrite are removed."""
    from netinspect.files import atomic_write

    files = {shard.file for shard in shards}
    if len(shards) > 1:
        total = sum(shard.nbytes for shard in shards)
        index = {
            "metadata": {"total_size": total, **index_metadata},
            "weight_map": {e.name: s.file for s in shards for e in s.entries},
        }
        atomic_write(os.path.join(folder, INDEX), lambda tmp: _write_json(tmp, index), force=True)
        files.add(INDEX)
    for name in os.listdir(folder):  # an older checkpoint's other shards
        if name not in files and (name == SINGLE or _SHARD.fullmatch(name)):
            os.unlink(os.path.join(folder, name))


def _shard_writer(
    shard: Shard, data: Callable[[Entry], Iterable[Bytes]], metadata: dict[str, str]
) -> Callable[[str], None]:
    return lambda tmp: _write_shard(tmp, shard, data, metadata)


def _write_shard(
    tmp: str, shard: Shard, data: Callable[[Entry], Iterable[Bytes]], metadata: dict[str, str]
) -> None:
    with open(tmp, "wb") as file:
        file.write(header(shard, metadata))
        for entry in shard.entries:
            written = 0
            for piece in data(entry):
                written += file.write(piece)
            if written != entry.nbytes:
                raise AssertionError(f"{entry.name}: {written} bytes written of {entry.nbytes}")
        file.flush()
        os.fsync(file.fileno())


def _write_json(tmp: str, document: dict[str, Any]) -> None:
    with open(tmp, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2, sort_keys=False)
        file.write("\n")
        file.flush()
        os.fsync(file.fileno())
