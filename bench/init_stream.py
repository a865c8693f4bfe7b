"""``init --out DIR/`` past one machine's RAM: peak memory and throughput, relative figures.

In one run on one machine:

- C, the interpreter: peak RSS of the same command on a one-layer spec;
- chunk mode (kaiming weights, zero biases: every tensor elementwise) on 12 and on 24
  layers of Linear(4096, 4096): peak RSS against C + the largest unit (a 4 MiB chunk)
  + 10 %, and whether doubling the layers raises it; throughput against the disk's own
  write speed, measured by writing as many bytes with fsync from Python;
- layer mode (each layer's own default init: the layer is built for real, 64 MiB) on 12
  layers: peak RSS against C + one layer + 10 %.

Usage: ``.venv/bin/python bench/init_stream.py [--layers 12]`` (part of ``make bench``;
writes up to 1.6 GB in a temporary folder, or under ``$BENCH_DIR``). The 6B-parameter case
(24 GB, minutes) is a manual one, with its command in the README.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NETINSPECT = str(Path(sys.executable).parent / "netinspect")


def spec(folder: Path, layers: int, width: int = 4096) -> str:
    path = folder / f"stack{layers}.yaml"
    path.write_text(f"model:\n  - repeat: {layers}\n    layer: {{Linear: [{width}, {width}]}}\n")
    return str(path)


def run(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB) of one process, by /usr/bin/time."""
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *args], capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:6])} failed:\n{done.stderr}")
    rss_kb = int(re.findall(r"^(\d+)$", done.stderr, re.M)[-1])
    return took, rss_kb // 1024


def disk_speed(folder: Path, nbytes: int) -> float:
    """MB/s of writing ``nbytes`` in 4 MiB pieces and fsyncing, as the shards are written."""
    piece = os.urandom(4 * 2**20)
    path = folder / "dd.bin"
    start = time.perf_counter()
    with open(path, "wb") as f:
        for _ in range(nbytes // len(piece)):
            f.write(piece)
        f.flush()
        os.fsync(f.fileno())
    took = time.perf_counter() - start
    path.unlink()
    return nbytes / took / 1e6


def init(folder: Path, yaml: str, scheme: str, out: str) -> tuple[float, int]:
    return run(
        [NETINSPECT, "init", yaml, "--scheme", scheme, "--seed", "0", "--out", out,
         "--shard-size", "500MB", "--force", "--format", "json"]
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=12)
    args = parser.parse_args()
    n = args.layers
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        folder = Path(tmp)
        base_s, base = init(folder, spec(folder, 1, 64), "kaiming", f"{folder}/c/")
        layer_mb = 4096 * 4097 * 4 / 2**20
        bytes_n = int(4096 * 4097 * 4 * n)
        chunk_s, chunk_rss = init(folder, spec(folder, n), "kaiming", f"{folder}/a/")
        _, double_rss = init(folder, spec(folder, 2 * n), "kaiming", f"{folder}/b/")
        layer_s, layer_rss = init(folder, spec(folder, n), "default", f"{folder}/d/")
        disk = disk_speed(folder, bytes_n)
    mb = bytes_n / 1e6
    print(f"init --out DIR/: {n} x Linear(4096, 4096), {mb:,.0f} MB of float32")
    print(f"  C (one small layer)        {base:6d} MB peak RSS")
    print(
        f"  chunk mode, {n:2d} layers      {chunk_rss:6d} MB  (bound C + 4 MiB + 10 %: "
        f"{(base + 4) * 1.1:,.0f} MB)  {chunk_s:6.2f} s  {mb / chunk_s:6.1f} MB/s"
    )
    ratio = double_rss / chunk_rss
    print(f"  chunk mode, {2 * n:2d} layers      {double_rss:6d} MB  ({ratio:.2f}x)")
    print(
        f"  layer mode, {n:2d} layers      {layer_rss:6d} MB  (bound C + one layer "
        f"{layer_mb:.0f} MiB + 10 %: {(base + layer_mb) * 1.1:,.0f} MB)  {layer_s:6.2f} s"
    )
    print(f"  the disk, fsync'd writes   {disk:6.1f} MB/s")
    data_s = chunk_s - base_s  # the start (import torch, the plan) is the one-layer run's
    print(
        f"  chunk-mode throughput / disk  {mb / chunk_s / disk:5.2f} end to end, "
        f"{mb / data_s / disk:5.2f} beyond the start ({base_s:.2f} s)  (target >= 0.9)"
    )


if __name__ == "__main__":
    main()
