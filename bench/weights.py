"""check SPEC --weights on a 75-billion-parameter checkpoint in 30 shards, without the disk.

The shards are sparse files: a valid safetensors header, then a hole the size of the
tensors' data (280 GB in all; no disk is used), with the index transformers writes. Timed
as whole processes: ``netinspect check configs/huge.yaml --max-params 1T`` with and
without ``--weights`` (the difference is what reading the checkpoint costs), and the peer,
a plain script that opens every shard with ``safetensors.safe_open`` and reads each
tensor's shape. Usage: ``.venv/bin/python bench/weights.py`` (part of ``make bench``).
"""

from __future__ import annotations

import json
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SHARDS = 30

PEER = """
import sys, json
from safetensors import safe_open
index = json.load(open(sys.argv[1]))
folder = sys.argv[1].rsplit("/", 1)[0]
shapes = {}
for shard in sorted(set(index["weight_map"].values())):
    with safe_open(f"{folder}/{shard}", framework="pt") as f:
        for name in f.keys():
            shapes[name] = f.get_slice(name).get_shape()
print(len(shapes))
"""


def huge_state() -> list[tuple[str, list[int]]]:
    """configs/huge.yaml's state dict: 80 blocks of LayerNorm(8192) and four Linears."""
    sizes = [(8192, 24576), (24576, 8192), (8192, 32768), (32768, 8192)]
    names: list[tuple[str, list[int]]] = []
    for block in range(80):
        names += [(f"{block}.0.weight", [8192]), (f"{block}.0.bias", [8192])]
        for i, (n_in, n_out) in enumerate(sizes, start=1):
            names += [(f"{block}.{i}.weight", [n_out, n_in]), (f"{block}.{i}.bias", [n_out])]
    return names


def write_sparse(folder: Path) -> Path:
    state = huge_state()
    per = -(-len(state) // SHARDS)
    weight_map = {}
    for s in range(SHARDS):
        shard = f"model-{s + 1:05d}-of-{SHARDS:05d}.safetensors"
        header, offset = {}, 0
        for name, shape in state[s * per : (s + 1) * per]:
            n = 4
            for d in shape:
                n *= d
            header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + n]}
            offset += n
            weight_map[name] = shard
        text = json.dumps(header).encode()
        with open(folder / shard, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text)
            f.truncate(8 + len(text) + offset)  # a hole: no disk
    index = folder / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return index


def timed(command: list[str]) -> tuple[float, float]:
    start = time.perf_counter()
    subprocess.run(command, check=False, capture_output=True)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="netinspect-sparse-") as folder:
        index = write_sparse(Path(folder))
        check = [
            str(BIN / "netinspect"),
            "check",
            str(ROOT / "configs" / "huge.yaml"),
            "--max-params",
            "1T",
        ]
        runs: dict[str, list[float]] = {"without": [], "with": [], "peer": []}
        for _ in range(3):
            runs["without"].append(timed(check)[0])
            seconds, rss = timed([*check, "--weights", str(index)])
            runs["with"].append(seconds)
            runs["peer"].append(timed([sys.executable, "-c", PEER, str(index)])[0])
        best = {k: min(v) for k, v in runs.items()}
        print(
            f"weights: huge.yaml (75.2B params, 280 GB) in {SHARDS} sparse shards: check "
            f"--weights {best['with']:.2f} s, without {best['without']:.2f} s "
            f"({best['with'] - best['without']:+.2f} s; target <= +0.3 s); the largest peak RSS "
            f"of any process so far {rss:.0f} MB; the peer, safetensors.safe_open over every "
            f"shard, {best['peer']:.2f} s ({best['with'] / best['peer']:.2f}x)"
        )


if __name__ == "__main__":
    main()
