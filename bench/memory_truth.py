"""The memory planner against real GPUs: `netinspect memory`'s figures beside CUDA's.

``bench/memory/h100_truth.json`` holds measurements of real training steps and
inference on an NVIDIA H100 (torch 2.11, CUDA 13) of the four models in
``bench/memory/models.py``, in three modes (fp32; bf16 weights and data; amp: fp32
weights under autocast to bf16) and two optimizers; its README is the protocol. This
plans each configuration with the same settings, through ``analysis.training`` as the
command does, and prints planned against measured and their ratio, for the steady-state
and first-step training peaks, the inference peak, saved activations and optimizer state,
and whether each peak is within max(2 %, 16 MiB) of the measurement. The convolution
model's fp32 peaks contain cuDNN's elastic workspace, which no planner derives: its
misses are marked. Usage: ``.venv/bin/python bench/memory_truth.py`` (also part of
``make bench``).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent / "memory"
sys.path.insert(0, str(HERE))

from memtracker import peak as memtracker_peak  # noqa: E402  # the peer, beside them
from models import MODELS  # noqa: E402  # the measured models, beside their data

from netinspect.analysis.training import Settings, plan_step  # noqa: E402

MIB = 2**20
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "amp": torch.float32}


def within(planned: int, measured: int) -> bool:
    return abs(planned - measured) <= max(0.02 * measured, 16 * MIB)


def plan(result: dict[str, Any]) -> tuple[Any, float]:
    dtype = DTYPES[result["mode"]]
    with torch.device("meta"):
        model, spec = MODELS[result["model"]]()
    model.to(dtype)
    x = torch.empty(spec[1], dtype=dtype if spec[0] == "f" else torch.int64, device="meta")
    settings = Settings(
        optimizer=result["optimizer"].replace("_", "-"),
        amp=torch.bfloat16 if result["mode"] == "amp" else None,
    )
    start = time.perf_counter()
    report = plan_step(model, (x,), {}, result["model"], settings)
    return report, time.perf_counter() - start


def main() -> None:
    truth = json.loads((HERE / "h100_truth.json").read_text())
    print(f"memory planner vs {truth['info']['gpu']} (torch {truth['info']['torch']})")
    header = f"{'config':32} {'steady':>16} {'first step':>16} {'inference':>16} saved state  time"
    print(header + "  MemTracker steady")
    errors: dict[str, list[float]] = {"steady": [], "first": [], "inference": [], "peer": []}
    misses = 0
    for result in truth["results"]:
        report, seconds = plan(result)
        steps = report.training.steps
        pairs = {
            "steady": (steps[2].peak, result["steps"][2]["peak_abs"]),
            "first": (steps[0].peak, result["steps"][0]["peak_abs"]),
            "inference": (report.inference_peak, result["inference_peak_over_start"]),
        }
        cells = []
        for key, (ours, real) in pairs.items():
            ok = within(ours, real)
            misses += not ok
            errors[key].append(abs(ours / real - 1))
            mark = " " if ok else ("e" if result["model"] == "cnn_dev" else "!")
            cells.append(f"{ours / MIB:7.1f}/{real / MIB:7.1f}{mark}")
        saved = report.training.saved_activations == result["saved_activation_bytes"]
        state = report.training.optimizer_state == result["optimizer_state_bytes"]
        name = f"{result['model']} {result['mode']} {result['optimizer']}"
        peer = memtracker_peak(result["model"], result["mode"], result["optimizer"])
        errors["peer"].append(abs(peer / result["steps"][2]["peak_abs"] - 1))
        print(f"{name:32} {' '.join(cells)} {'exact' if saved else 'DIFF ':5} "
              f"{'exact' if state else 'DIFF ':5} {seconds:4.2f}s  "
              f"{peer / result['steps'][2]['peak_abs']:.3f}x")  # fmt: skip
    print("MiB planned/measured; e: a miss where cuDNN's elastic workspace is in the truth")
    for key, values in errors.items():
        print(
            f"  {key:9} median error {100 * statistics.median(values):6.2f} %, "
            f"worst {100 * max(values):6.2f} %"
        )
    print(f"  peaks outside max(2 %, 16 MiB): {misses} of {3 * len(truth['results'])}")
    print("  (peer: MemTracker's steady peak on fake cpu tensors against the same truth)")
    speed()


def speed() -> None:
    """The 1.2B-parameter transformer, planned by each as a whole process."""
    import subprocess

    spec = Path(__file__).resolve().parent / "specs" / "transformer_1b.yaml"
    ours = [str(Path(sys.executable).parent / "netinspect"), "memory", str(spec), "--amp",
            "bfloat16", "--format", "json"]  # fmt: skip
    theirs = [sys.executable, str(HERE / "memtracker.py"), "transformer_1b"]
    times = []
    for command in (ours, theirs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    print(
        f"speed, 1.2B transformer at 8 x 2048, amp: netinspect memory {times[0]:.2f} s, "
        f"MemTracker {times[1]:.2f} s ({times[0] / times[1]:.2f}x; target <= 3 s, <= 0.3x)"
    )


if __name__ == "__main__":
    main()
