"""A safetensors file's header: every tensor's name, dtype, shape and place, without reading
a byte of data.

The format: 8 bytes, a little-endian unsigned length N; N bytes of JSON, an object mapping
each tensor's name to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets into the
data after the header), and an optional ``"__metadata__"`` of strings. Files come from the
internet, so every field is checked before it is believed: the length against the file
and against a cap (``--max-header-bytes``), the JSON, each entry's keys and types, the
dtype, the byte count against shape and dtype, and that no tensor lies outside the data or
over another. Each failure is a :class:`WeightsError` naming the file and the tensor.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

from netinspect.errors import Location, WeightsError

#: safetensors' dtype names -> (torch's name, bytes an element)
DTYPES: dict[str, tuple[str, int]] = {
    "F64": ("float64", 8), "F32": ("float32", 4), "F16": ("float16", 2),
    "BF16": ("bfloat16", 2), "F8_E4M3": ("float8_e4m3fn", 1), "F8_E5M2": ("float8_e5m2", 1),
    "I64": ("int64", 8), "I32": ("int32", 4), "I16": ("int16", 2), "I8": ("int8", 1),
    "U64": ("uint64", 8), "U32": ("uint32", 4), "U16": ("uint16", 2), "U8": ("uint8", 1),
    "BOOL": ("bool", 1), "C64": ("complex64", 8),
}  # fmt: skip

#: Headers larger than this are refused unless the limit is raised (a header of 500 MB is
#: an attack or a mistake: a 70B model's is about 1 MB).
MAX_HEADER_BYTES = 100 * 2**20


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str  # torch's name: float32
    nbytes: int


@dataclass(frozen=True)
class WeightsFile:
    path: str
    tensors: tuple[Tensor, ...]
    # Names stored once under another (netinspect init --out writes its ties so).
    aliases: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


def looks_like(path: str) -> bool:
    """Whether ``path`` names a safetensors file: by its extension, or by its content (a
    length that fits the file, then a JSON object). A directory or a missing file is not."""
    if not os.path.isfile(path):
        return False
    if path.endswith(".safetensors"):
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(9)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return False
    return len(head) == 9 and head[8:] == b"{" and 8 + int.from_bytes(head[:8], "little") <= size


def read(path: str, max_header_bytes: int = MAX_HEADER_BYTES) -> WeightsFile:
    """The header of the safetensors file at ``path`` (see the module)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(8)
            if len(head) < 8:
                raise _error(path, f"the file has {size} bytes; a safetensors file starts "
                             "with an 8-byte header length")  # fmt: skip
            length = int.from_bytes(head, "little")
            if length > max_header_bytes:
                raise _error(
                    path,
                    f"its header claims {length:,} bytes, more than the limit of "
                    f"{max_header_bytes:,}",
                    "Raise it with --max-header-bytes if the file is really this large.",
                )
            if 8 + length > size:
                raise _error(path, f"its header claims {length:,} bytes but the file has "
                             f"{size - 8:,} after the length: it is truncated")  # fmt: skip
            text = f.read(length)
    except OSError as exc:
        raise WeightsError(f"cannot read it: {exc.strerror or exc}", Location(path)) from None
    return parse(path, text, size - 8 - length)


def parse(path: str, text: bytes, data_size: int) -> WeightsFile:
    """A header's JSON, checked against the ``data_size`` bytes that follow it."""
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _error(path, f"its header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise _error(path, f"its header is a JSON {type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise _error(path, "its __metadata__ is not an object of strings")
    tensors = [_tensor(path, name, entry) for name, entry in header.items()]
    _check_places(path, header, data_size)
    return WeightsFile(path, tuple(tensors), _aliases(path, metadata), metadata)


def _tensor(path: str, name: str, entry: object) -> Tensor:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise _error(path, f"tensor {name!r}: expected {{dtype, shape, data_offsets}}, got "
                     f"{_short(entry)}")  # fmt: skip
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPES:
        raise _error(path, f"tensor {name!r} has the unknown dtype {_short(dtype)}; known: "
                     + ", ".join(DTYPES))  # fmt: skip
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise _error(path, f"tensor {name!r} has the shape {_short(shape)}, not a list of sizes")
    if not (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(type(n) is int and n >= 0 for n in offsets)
        and offsets[0] <= offsets[1]
    ):
        raise _error(path, f"tensor {name!r} has the data_offsets {_short(offsets)}")
    torch_name, itemsize = DTYPES[dtype]
    nbytes = math.prod(shape) * itemsize
    if offsets[1] - offsets[0] != nbytes:
        raise _error(path, f"tensor {name!r}: {dtype} {shape} takes {nbytes:,} bytes but its "
                     f"offsets span {offsets[1] - offsets[0]:,}")  # fmt: skip
    return Tensor(name, tuple(shape), torch_name, nbytes)


def _check_places(path: str, header: dict[str, dict[str, list[int]]], data_size: int) -> None:
    """No tensor outside the data, none over another."""
    spans = sorted((e["data_offsets"][0], e["data_offsets"][1], n) for n, e in header.items())
    end, last = 0, None
    for begin, stop, name in spans:
        if stop > data_size:
            raise _error(path, f"tensor {name!r} ends at byte {stop:,} of the data, but the "
                         f"file holds {data_size:,}: it is truncated or corrupt")  # fmt: skip
        if begin < end and stop > begin:
            raise _error(path, f"tensors {last!r} and {name!r} overlap in the file")
        end, last = max(end, stop), name


def _aliases(path: str, metadata: dict[str, str]) -> dict[str, str]:
    """Tied names netinspect stored once: ``{"netinspect": {"ties": {dropped: kept}}}``."""
    raw = metadata.get("netinspect")
    if raw is None:
        return {}
    try:
        ties = json.loads(raw).get("ties", {})
    except (json.JSONDecodeError, AttributeError):
        ties = None
    if not isinstance(ties, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in ties.items()
    ):
        raise _error(path, "its netinspect metadata does not hold ties as netinspect writes them")
    return dict(ties)


def _short(value: object) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _error(path: str, message: str, hint: str | None = None) -> WeightsError:
    return WeightsError(f"not a valid safetensors file: {message}", Location(path), hint)
