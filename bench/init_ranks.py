"""``torchrun -m netinspect init``: peak RSS of a rank at 2 and 4 ranks, against one process.

Each rank holds its rows of every tensor (torch.distributed.checkpoint saves them at once),
so a rank's peak should be about the interpreter (C) plus the model over N. Measured with
``/usr/bin/time`` around torchrun, whose figure is the largest of its children's peaks: the
largest rank's. One process (no torchrun) writes the same model with ``--out DIR/``, a chunk
at a time, for comparison. Usage: ``.venv/bin/python bench/init_ranks.py [--layers 16]``
(part of ``make bench``: 16 x Linear(4096, 4096), 1.07 GB; the feasibility study's 1B-param
case is ``--layers 60``, minutes a run).
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

BIN = Path(sys.executable).parent


def peak(args: list[str], cwd: Path) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *args], cwd=cwd, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    took = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:5])} failed:\n{done.stderr[-3000:]}")
    return took, int(re.findall(r"^(\d+)$", done.stderr, re.M)[-1]) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=16)
    args = parser.parse_args()
    init = ["init", "m.yaml", "--scheme", "kaiming", "--seed", "0", "--force", "--format", "json"]
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        folder = Path(tmp)
        (folder / "m.yaml").write_text(
            f"model:\n  - repeat: {args.layers}\n    layer: {{Linear: [4096, 4096]}}\n"
        )
        (folder / "c.yaml").write_text("model: [{Linear: [64, 64]}]\n")
        _, base = peak([str(BIN / "netinspect"), "init", "c.yaml", "--scheme", "kaiming",
                        "--out", "c/", "--force"], folder)  # fmt: skip
        one = peak([str(BIN / "netinspect"), *init, "--out", "one/"], folder)
        runs = {}
        for ranks in (2, 4):
            runs[ranks] = peak(
                [str(BIN / "torchrun"), "--nproc-per-node", str(ranks), "--rdzv-backend", "c10d",
                 "--rdzv-endpoint", "localhost:0", "-m", "netinspect", *init,
                 "--out", f"r{ranks}/"],
                folder,
            )  # fmt: skip
    model_mb = args.layers * 4096 * 4097 * 4 / 2**20
    print(f"init across ranks: {args.layers} x Linear(4096, 4096), {model_mb:,.0f} MiB")
    print(f"  C (one small layer, one process)       {base:6d} MB")
    print(f"  one process, --out DIR/ (chunks)       {one[1]:6d} MB  {one[0]:6.1f} s")
    for ranks, (took, rss) in runs.items():
        print(
            f"  {ranks} ranks (torchrun, DCP), largest rank  {rss:6d} MB  {took:6.1f} s  "
            f"(C + model/{ranks} = {base + model_mb / ranks:,.0f} MB)"
        )


if __name__ == "__main__":
    main()
