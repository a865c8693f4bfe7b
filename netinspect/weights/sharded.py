"""A sharded Hugging Face checkpoint: ``model.safetensors.index.json`` (or the folder that
holds it), whose ``weight_map`` names each tensor's shard. Every shard's header is read
(never its data) and the index is held to the shards: a shard it names must exist, each
tensor must be in the shard the index says, and a shard must hold no tensor the index
does not name."""

from __future__ import annotations

import json
import os

from netinspect.errors import Location, WeightsError
from netinspect.weights import safetensors

INDEX_SUFFIX = ".safetensors.index.json"
#: An index is JSON of names: larger than this it is refused (a 70B model's is ~100 KB).
MAX_INDEX_BYTES = 64 * 2**20


def index_of(path: str) -> str | None:
    """The index ``path`` names: itself, or the one index in a folder; None otherwise."""
    if os.path.isfile(path) and path.endswith(INDEX_SUFFIX):
        return path
    if os.path.isdir(path):
        found = sorted(n for n in os.listdir(path) if n.endswith(INDEX_SUFFIX))
        if len(found) == 1:
            return os.path.join(path, found[0])
        if len(found) > 1:
            raise WeightsError(
                f"the folder holds {len(found)} checkpoint indexes ({', '.join(found)}); name "
                "the one to read",
                Location(path),
            )
    return None


def read(
    path: str, max_header_bytes: int = safetensors.MAX_HEADER_BYTES
) -> safetensors.WeightsFile:
    """Every tensor of the checkpoint whose index is at ``path``, and the names netinspect
    stored once for a tie (``metadata.netinspect.ties`` in the index)."""
    weight_map, aliases = _weight_map(path)
    folder = os.path.dirname(path) or "."
    by_shard: dict[str, set[str]] = {}
    for name, shard in weight_map.items():
        by_shard.setdefault(shard, set()).add(name)
    for shard, names in sorted(by_shard.items()):  # every shard there, before any is read
        if os.path.basename(shard) != shard or not os.path.isfile(os.path.join(folder, shard)):
            raise WeightsError(
                f"the index names the shard {shard!r} (for {sorted(names)[0]!r} and "
                f"{len(names) - 1} more), which is not a file beside it",
                Location(path),
            )
    tensors: list[safetensors.Tensor] = []
    for shard, names in sorted(by_shard.items()):
        header = safetensors.read(os.path.join(folder, shard), max_header_bytes)
        held = {t.name for t in header.tensors}
        _agree(path, names - held, "the index puts ", f" in {shard}, which does not hold it")
        _agree(path, held - names, f"{shard} holds ", ", which the index does not name")
        tensors.extend(header.tensors)
    return safetensors.WeightsFile(path, tuple(sorted(tensors, key=lambda t: t.name)), aliases)


def _agree(path: str, differ: set[str], before: str, after: str) -> None:
    """Refuse an index and a shard that disagree: the message is ``before`` the first name
    that differs ``after``, and the count of the rest."""
    if differ:
        first, *rest = sorted(differ)
        more = f" ({len(rest)} more likewise)" if rest else ""
        raise WeightsError(f"{before}{first!r}{after}{more}", Location(path))


def _weight_map(path: str) -> tuple[dict[str, str], dict[str, str]]:
    try:
        size = os.path.getsize(path)
        if size > MAX_INDEX_BYTES:
            raise WeightsError(
                f"the index is {size:,} bytes, more than the {MAX_INDEX_BYTES:,} an index of "
                "names needs",
                Location(path),
            )
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
    except OSError as exc:
        raise WeightsError(f"cannot read it: {exc.strerror or exc}", Location(path)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"the index is not valid JSON ({exc})", Location(path)) from None
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in weight_map.items()
    ):
        raise WeightsError(
            'the index has no "weight_map" of tensor name to shard file', Location(path)
        )
    metadata = index.get("metadata")
    ours = metadata.get("netinspect") if isinstance(metadata, dict) else None
    ties = ours.get("ties", {}) if isinstance(ours, dict) else {}
    if not isinstance(ties, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v in weight_map for k, v in ties.items()
    ):
        raise WeightsError(
            "its netinspect metadata does not hold ties of stored names as netinspect writes them",
            Location(path),
        )
    return weight_map, dict(ties)
