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
    print(header)
    errors: dict[str, list[float]] = {"steady": [], "first": [], "inference": []}
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
        print(f"{name:32} {' '.join(cells)} {'exact' if saved else 'DIFF ':5} "
              f"{'exact' if state else 'DIFF ':5} {seconds:4.2f}s")  # fmt: skip
    print("MiB planned/measured; e: a miss where cuDNN's elastic workspace is in the truth")
    for key, values in errors.items():
        print(
            f"  {key:9} median error {100 * statistics.median(values):5.2f} %, "
            f"worst {100 * max(values):5.2f} %"
        )
    print(f"  peaks outside max(2 %, 16 MiB): {misses} of {3 * len(truth['results'])}")


if __name__ == "__main__":
    main()
