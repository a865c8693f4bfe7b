"""CI at the scale of a repository: 100 specs checked in one process against 100 processes.

The 100 specs are the bundled configs, copied with variations (each its own name and
budget: parameters, bytes, and for a third of them FLOPs and the output shape, which
dry-run on meta). Three timings, in the same run on the same machine:

- one ``netinspect check`` over all 100 (best of ``--repeat``);
- 100 ``netinspect check`` processes, one spec each, one after the other (once: minutes);
- one ``netinspect check`` of one spec (best of ``--repeat``, over a few specs).

Targets (issue 16): one process at most 0.05 times the 100 processes, and at most twice
one spec. Usage:
``.venv/bin/python bench/ci_scale.py [--repeat N] [--specs N]`` (part of ``make bench``).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETINSPECT = str(Path(sys.executable).parent / "netinspect")
BASES = ["mlp", "tied", "rgnet", "tiny_lm", "lazy_mlp", "lazy_cnn", "huge"]


def write_specs(folder: Path, count: int) -> list[Path]:
    """``count`` specs: the configs in turn, each renamed and given a budget of its own."""
    paths = []
    for i in range(count):
        base = BASES[i % len(BASES)]
        text = (ROOT / "configs" / f"{base}.yaml").read_text()
        text = re.sub(r"(?m)^name:.*\n", "", text)
        text = re.sub(r"(?ms)^budget:.*", "", text)  # its own, last in the file (tiny_lm)
        budget = f"  max_params: {10**12 + i}\n  max_bytes: {4 * 10**12 + i}\n"
        if i % 3 == 0 and base != "huge":  # a dry run on meta as well
            budget += f"  max_flops: {10**15 + i}\n"
        text = f"name: {base}_{i:03d}\n{text.rstrip()}\nbudget:\n{budget}"
        path = folder / f"spec_{i:03d}.yaml"
        path.write_text(text)
        paths.append(path)
    return paths


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:4])} ... failed ({done.returncode}):\n{done.stderr}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--specs", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_specs(Path(tmp), args.specs)
        names = [str(p) for p in paths]
        timed([NETINSPECT, "check", names[0]])  # the page cache warm for all runs
        together = min(timed([NETINSPECT, "check", *names]) for _ in range(args.repeat))
        alone = min(
            timed([NETINSPECT, "check", name])
            for name in names[: len(BASES)]
            for _ in range(args.repeat)
        )
        apart = sum(timed([NETINSPECT, "check", name]) for name in names)
    n = len(paths)
    print(f"ci-scale: {n} specs (the configs with variations), netinspect check")
    print(f"  one process, {n} specs      {together:8.2f} s")
    print(f"  {n} processes, one spec each {apart:8.2f} s")
    print(f"  one process, one spec       {alone:8.2f} s  (best over {len(BASES)} specs)")
    print(f"  one process / {n} processes  {together / apart:8.3f}  (target <= 0.05)")
    print(f"  {n} specs / one spec         {together / alone:8.2f}  (target <= 2)")


if __name__ == "__main__":
    main()
