"""Benchmark netinspect against its peers, as whole processes side by side in one run.

Each case runs both commands ``--repeat`` times and prints min and median wall time, the
ratio ours/theirs (of medians), and the peak RSS of each. Usage: ``make bench`` or
``.venv/bin/python bench/run.py [--repeat N] [CASE ...]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PEERS = [sys.executable, str(ROOT / "bench" / "peers.py")]


@dataclass(frozen=True)
class Case:
    name: str
    ours: list[str]  # "{out}" is replaced by a fresh file path in a temporary directory
    theirs: list[str]
    what: str
    bytes: int = 0  # data the case produces, for a throughput column


CASES = [
    Case(
        "deep",
        [str(BIN / "netinspect"), "dry-run", "bench/specs/deep.yaml", "--format", "json"],
        [*PEERS, "deep"],
        "12,000 layers: dry-run vs torchinfo.summary(device='meta')",
    ),
    Case(
        "huge",
        [str(BIN / "netinspect"), "dry-run", "configs/huge.yaml", "--format", "json"],
        [*PEERS, "huge"],
        "75B params: dry-run vs torchinfo.summary(device='meta')",
    ),
    Case(
        "init",
        [
            str(BIN / "netinspect"),
            *("init", "bench/specs/billion.yaml", "--scheme", "kaiming", "--seed", "0"),
            *("--out", "{out}", "--format", "json"),
        ],
        [*PEERS, "init", "{out}"],
        "1.07B params: init --out vs build + kaiming_uniform_ + save_file",
        bytes=1_074_266_112 * 4,
    ),
    Case(
        "startup-help",
        [str(BIN / "netinspect"), "--help"],
        [sys.executable, "-c", "import typer"],
        "netinspect --help vs python -c 'import typer'",
    ),
    Case(
        "startup-mlp",
        [str(BIN / "netinspect"), "params", "configs/mlp.yaml"],
        [sys.executable, "-c", "import torch"],
        "params on the 4-8-1 MLP vs python -c 'import torch'",
    ),
    Case(
        "huge-params",
        [str(BIN / "netinspect"), "params", "configs/huge.yaml", "--format", "json"],
        [sys.executable, "-c", "import torch"],
        "75B params: params vs python -c 'import torch'",
    ),
]


def measure(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS in bytes of one run of ``command``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "weights.safetensors")
        return _measure([out if part == "{out}" else part for part in command])


def _measure(command: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        assert proc.stderr is not None
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss * 1024  # Linux reports kilobytes


SCALING_LAYERS = (1_000, 4_000, 16_000, 64_000)
_SCALING_SPEC = """name: scaling{n}
input: [4, 256]
blocks:
  layer: [{{LayerNorm: 256}}, {{Linear: [256, 768]}}, {{Linear: [768, 256]}},
          {{Linear: [256, 1024]}}, GELU, {{Linear: [1024, 256]}}]
model:
  - repeat: {repeats}
    layer: layer
"""


def scaling() -> None:
    """dry-run time per leaf layer as depth grows: it should stay flat (linear growth)."""
    print("\nscaling: dry-run --format json, one run per size")
    print(f"{'layers':>8} {'seconds':>8} {'ms/layer':>9} {'peak RSS':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in SCALING_LAYERS:
            spec = Path(tmp) / f"scaling{n}.yaml"
            spec.write_text(_SCALING_SPEC.format(n=n, repeats=n // 6))
            command = [str(BIN / "netinspect"), "dry-run", str(spec), "--format", "json"]
            command += ["--max-modules", "1000000", "--max-tensors", "1000000"]  # past defaults
            seconds, rss = measure(command)
            print(f"{n:>8} {seconds:>8.2f} {1000 * seconds / n:>9.3f} {rss / 2**20:>8.0f} MB")


def attacks() -> None:
    """Every case of the adversarial corpus (tests/attacks.py) within the default limits:
    the slowest and the hungriest, against the promise (seconds, well under 1 GB) and
    against a bare ``import torch`` measured now."""
    sys.path.insert(0, str(ROOT))
    from tests.attack_runs import run_corpus

    torch_seconds, torch_rss = measure([sys.executable, "-c", "import torch"])
    runs = run_corpus()
    print(f"\nattacks: {len(runs)} cases of tests/attacks.py, each a new process of the command")
    print(f"  import torch alone: {torch_seconds:.2f} s, {torch_rss / 2**20:.0f} MB")
    for title, key in (("slowest", lambda r: -r.seconds), ("hungriest", lambda r: -r.megabytes)):
        print(f"  {title}:")
        for run in sorted(runs, key=key)[:5]:
            print(
                f"    {run.seconds:6.2f} s ({run.seconds / torch_seconds:4.1f}x import torch) "
                f"{run.megabytes:6.0f} MB  {run.name}"
            )
    worst_s, worst_mb = max(r.seconds for r in runs), max(r.megabytes for r in runs)
    print(f"  worst: {worst_s:.2f} s, {worst_mb:.0f} MB (target: seconds, well under 1 GB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cases", nargs="*", default=[*(c.name for c in CASES), "attacks"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling series")
    args = parser.parse_args()
    print(f"{'case':<12} {'side':<6} {'min s':>8} {'median s':>9} {'peak RSS':>10}  ratio")
    for case in (c for c in CASES if c.name in args.cases):
        # Alternate the sides, so drift in the machine's state (page cache, memory to
        # reclaim after the last 4 GB run) falls on both alike.
        runs: dict[str, list[tuple[float, int]]] = {"ours": [], "theirs": []}
        for _ in range(args.repeat):
            runs["ours"].append(measure(case.ours))
            runs["theirs"].append(measure(case.theirs))
        results = {}
        for side, measured in runs.items():
            times = [t for t, _ in measured]
            results[side] = (min(times), statistics.median(times), max(r for _, r in measured))
        ratio = results["ours"][1] / results["theirs"][1]
        for side, (lo, med, rss) in results.items():
            tail = f"  {ratio:.2f}x" if side == "ours" else f"  ({case.what})"
            if case.bytes:
                tail += f"  {case.bytes / med / 1e9:.2f} GB/s"
            print(f"{case.name:<12} {side:<6} {lo:>8.2f} {med:>9.2f} {rss / 2**20:>8.0f} MB{tail}")
    if not args.no_scaling:
        scaling()
    if "attacks" in args.cases:
        attacks()


if __name__ == "__main__":
    main()
