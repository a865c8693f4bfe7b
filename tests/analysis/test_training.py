"""The training-step planner: the tracker on meta against the same tracker on real cpu
tensors, its figures against torch's own, and the CUDA kernels it models."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from netinspect.analysis.training import allocated, plan_inference, plan_training
from netinspect.analysis.workspace import reduction_workspace
from tests.conftest import run_netinspect


def _mlp(device: str) -> nn.Module:
    torch.manual_seed(0)
    with torch.device(device):
        return nn.Sequential(
            nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.LayerNorm(256), nn.GELU(),
            nn.Linear(256, 10),
        )  # fmt: skip


def _calling(x: torch.Tensor) -> Callable[[nn.Module], torch.Tensor]:
    def forward(m: nn.Module) -> torch.Tensor:
        out: torch.Tensor = m(x)
        return out

    return forward


@pytest.mark.parametrize("optimizer", ["sgd", "sgd-momentum", "adam"])
def test_the_plan_on_meta_is_the_same_step_on_real_cpu_tensors(optimizer: str) -> None:
    plans = []
    for device in ("meta", "cpu"):
        model = _mlp(device)
        x = (
            torch.randn(32, 64, device=device)
            if device == "cpu"
            else torch.empty(32, 64, device=device)
        )
        plans.append(plan_training(model, _calling(x), allocated(x.numel() * 4), optimizer))
    meta, cpu = plans
    if optimizer == "adam":  # Adam's step counters are cpu tensors: on meta, not the GPU's
        assert cpu.optimizer_state - meta.optimizer_state == 4 * len(
            list(_mlp("meta").parameters())
        )
        return
    assert meta.steps == cpu.steps
    assert (meta.gradients, meta.optimizer_state, meta.saved_activations) == (
        cpu.gradients, cpu.optimizer_state, cpu.saved_activations,
    )  # fmt: skip


def test_the_figures_are_torchs_own() -> None:
    model = _mlp("meta")
    x = torch.empty(32, 64, device="meta")
    plan = plan_training(model, lambda m: m(x), allocated(x.numel() * 4), "adamw")
    params = list(model.parameters())
    assert plan.parameters == sum(allocated(p.numel() * 4) for p in params)
    assert plan.gradients == plan.parameters  # one gradient per parameter, as allocated
    assert plan.optimizer_state == 2 * sum(p.numel() * 4 for p in params)  # exp_avg(_sq)
    # Saved for backward, by hand: x for the first Linear's weight gradient; the ReLU's
    # output; the second Linear's input (the same tensor); LayerNorm's input, mean and
    # rstd; GELU's input; the last Linear's input.
    hidden = 32 * 256 * 4
    assert plan.saved_activations == 32 * 64 * 4 + hidden + hidden + 2 * 32 * 4 + hidden + hidden
    steady = plan.steady
    assert steady.start == plan.parameters + allocated(
        x.numel() * 4
    ) + plan.gradients + allocated_state(plan)
    assert steady.peak >= steady.after_forward > steady.start - plan.gradients


def allocated_state(plan: object) -> int:  # AdamW's two tensors per parameter
    model = _mlp("meta")
    return 2 * sum(allocated(p.numel() * 4) for p in model.parameters())


@pytest.mark.parametrize(
    ("shape", "mib"),
    [((4096, 256), 8), ((4096, 2048), 64), ((1024, 2048), 16), ((2048, 384), 6), ((512, 4096), 0)],
)
def test_a_bias_gradients_staging_buffer_is_atens(shape: tuple[int, int], mib: int) -> None:
    grad = torch.empty(shape, device="meta")
    assert reduction_workspace(torch.ops.aten.sum.dim_IntList, (grad, [0]), None) == mib * 2**20
    assert reduction_workspace(torch.ops.aten.sum.dim_IntList, (grad, [1]), None) == 0


def test_inference_holds_two_activations_at_most_in_a_chain() -> None:
    model = _mlp("meta")
    x = torch.empty(32, 64, device="meta")
    assert plan_inference(model, lambda m: m(x)) == 2 * allocated(32 * 256 * 4) + 2 * allocated(
        32 * 4
    )


ROOT = Path(__file__).resolve().parents[2]
ENCODER = str(ROOT / "examples" / "encoder.yaml")
MIB = 2**20


def _h100(model: str, mode: str, optimizer: str) -> dict[str, Any]:
    truth = json.loads((ROOT / "bench" / "memory" / "h100_truth.json").read_text())
    return next(
        r
        for r in truth["results"]
        if (r["model"], r["mode"], r["optimizer"]) == (model, mode, optimizer)
    )


@pytest.mark.parametrize(
    ("args", "mode", "optimizer"),
    [
        ((), "fp32", "adamw"),
        (("--amp", "bfloat16", "--optimizer", "sgd-momentum"), "amp", "sgd_momentum"),
    ],
)
def test_the_example_encoder_is_planned_within_2_percent_of_an_h100(
    args: tuple[str, ...], mode: str, optimizer: str
) -> None:
    """examples/encoder.yaml is the measured enc_dev model (bench/memory/models.py)."""
    result = run_netinspect("memory", ENCODER, *args, "--format", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    real = _h100("enc_dev", mode, optimizer)
    steps = real["steps"]
    assert isinstance(steps, list)
    for ours, theirs in (
        (doc["training"]["peak"], steps[2]["peak_abs"]),
        (doc["training"]["first_step_peak"], steps[0]["peak_abs"]),
        (doc["inference"]["peak"], real["inference_peak_over_start"]),
    ):
        assert abs(ours - theirs) <= max(0.02 * theirs, 16 * MIB)
    assert doc["saved_activations"] == real["saved_activation_bytes"]
    assert doc["optimizer_state"] == real["optimizer_state_bytes"]
    assert (doc["optimizer"], doc["target"], doc["dtype"]) == (
        optimizer.replace("_", "-"),
        "cuda",
        "float32",
    )
    assert doc["training"]["peak_phase"] in ("forward", "backward", "optimizer")


def test_the_memory_command_in_text_and_for_inference() -> None:
    text = run_netinspect("memory", ENCODER, "--optimizer", "sgd")
    assert text.code == 0, text.err
    assert "encoder: a training step on cuda, float32, sgd" in text.out
    assert "Peak, training step" in text.out
    assert "The loss is out.float().mean()" in text.out
    inference = json.loads(run_netinspect("memory", ENCODER, "--inference", "-f", "json").out)
    assert inference["training"] is None
    assert inference["gradients"] is None
    assert inference["inference"]["peak"] > 0
    refused = run_netinspect("memory", ENCODER, "--optimizer", "lion")
    assert refused.code == 2
    target = run_netinspect("memory", "torch.nn:Linear", "--allow-import")
    assert target.code == 1


def test_the_largest_batch_is_planned_and_the_next_one_is_not_smaller() -> None:
    from netinspect.analysis.training import largest_batch

    calls: list[int] = []

    def peak(b: int) -> int:
        calls.append(b)
        return 100 + 7 * b + b % 3  # nearly linear, as a step's peak is

    assert largest_batch(peak, 8, peak(8), 1000) == (128, 998)
    assert len(calls) <= 4
    assert largest_batch(peak, 200, peak(200), 1000) == (128, 998)
    assert largest_batch(peak, 8, peak(8), 50) == (0, 0)


def test_device_memory_says_the_largest_batch_that_fits() -> None:
    import netinspect
    from netinspect.cli.options import parse_input

    memory = 2 * 2**30
    result = run_netinspect("memory", ENCODER, "--device-memory", "2GiB", "-f", "json")
    assert result.code == 0, result.err
    fits = json.loads(result.out)["fits"]
    assert fits["fits"] is True
    assert fits["largest_batch_peak"] <= memory
    spec = netinspect.load(ENCODER)
    above = (parse_input(f"{fits['largest_batch'] + 1}x256:int64"),)
    training = netinspect.plan_training(spec, above).training
    assert training is not None
    assert training.steady.peak > memory


def test_check_holds_a_training_step_to_a_budget() -> None:
    over = run_netinspect("check", ENCODER, "--max-train-memory", "600MiB", "-f", "json")
    assert over.code == 3, over.err
    (row,) = json.loads(over.out)["checks"]
    assert row["name"] == "max-train-memory"
    assert row["ok"] is False
    under = run_netinspect(
        "check", ENCODER, "--max-train-memory", "600MiB", "--amp", "bfloat16", "--optimizer", "sgd"
    )
    assert under.code == 0, under.out + under.err
    assert "max-train-memory" in under.out


def _three_steps(model: nn.Module, x: torch.Tensor, optimizer: str) -> list[tuple[int, ...]]:
    """Three whole training steps under the planner's tracker, as a loop runs them."""
    import gc

    from netinspect.analysis.training import StepTracker, make_optimizer

    params = list(model.parameters())
    base = sum(allocated(p.numel() * 4) for p in params) + allocated(x.numel() * 4)
    opt = make_optimizer(optimizer, params)
    tracker = StepTracker(base, lambda f, a, o: 0)
    recorded: list[tuple[int, ...]] = []
    model.train()
    with tracker:
        for _ in range(3):
            gc.collect()
            tracker.restart("start")
            start = tracker.now
            opt.zero_grad(set_to_none=True)
            tracker.phase = "forward"
            out = model(x)
            loss = out.float().mean()
            tracker.phase = "backward"
            loss.backward()
            tracker.phase = "optimizer"
            opt.step()
            peaks = {phase: peak.bytes for phase, peak in tracker.phase_peaks.items()}
            recorded.append(
                (start, peaks["forward"], peaks["backward"], peaks["optimizer"], tracker.peak)
            )
            del out, loss
    return recorded


@pytest.mark.parametrize("optimizer", ["sgd-momentum", "adamw"])
def test_the_steady_step_is_what_three_whole_steps_give(optimizer: str) -> None:
    x = torch.empty(32, 64, device="meta")
    plan = plan_training(_mlp("meta"), _calling(x), allocated(x.numel() * 4), optimizer)
    whole = _three_steps(_mlp("meta"), x, optimizer)
    for ours, theirs in zip((plan.first_step, plan.steady), (whole[0], whole[2]), strict=True):
        fields = (ours.start, ours.peak_forward, ours.peak_backward, ours.peak_optimizer, ours.peak)
        assert fields == theirs


def test_the_op_cache_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import netinspect
    from netinspect import _fast

    spec = netinspect.load(ENCODER)
    fast = netinspect.plan_training(spec, amp=torch.bfloat16)
    monkeypatch.setenv(_fast.SWITCH, "1")
    plain = netinspect.plan_training(spec, amp=torch.bfloat16)
    assert fast == plain


def test_a_model_with_lazy_layers_is_shaped_before_its_step() -> None:
    lazy = json.loads(run_netinspect("memory", "configs/lazy_mlp.yaml", "-f", "json").out)
    shaped = nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
    assert lazy["parameters"] == sum(allocated(p.numel() * 4) for p in shaped.parameters())
    assert lazy["gradients"] == lazy["parameters"]


@pytest.mark.parametrize("optimizer", ["sgd-momentum", "adamw"])
def test_the_breakdown_at_a_peak_adds_up_to_the_peak(optimizer: str) -> None:
    """Every byte at the peak is named, a kernel's workspace included: a bias gradient of
    a (1024, 2048) output takes ATen's 16 MiB staging buffer, at the peak of this step."""
    from netinspect.analysis.training import Settings, plan_step

    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(784, 2048), nn.ReLU(), nn.Linear(2048, 2048))
    x = torch.empty(1024, 784, device="meta")
    plan = plan_step(model, (x,), {}, "mlp", Settings(optimizer=optimizer)).training
    assert plan is not None
    for step in (plan.first_step, plan.steady):
        assert sum(step.at_peak.values()) == step.peak
    assert plan.steady.at_peak["workspace"] == 16 * MIB
