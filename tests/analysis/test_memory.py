"""Planning a real run's memory on meta: parameters (lazy ones shaped), input, the peak of
live activations, and refusing a run that will not fit before anything is allocated."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import netinspect
from netinspect.analysis.dryrun import Example, dry_run, example_input
from netinspect.analysis.init import Rule
from netinspect.analysis.memory import LiveStorages, plan_forward
from netinspect.builder.compiler import compile_spec
from netinspect.errors import MemoryLimitError
from netinspect.limits import Limits
from tests.conftest import CONFIGS, run_netinspect


def _meta_plan(model: nn.Module, shape: tuple[int, ...]) -> int:
    x = Example((torch.empty(shape, device="meta"),))
    return plan_forward(model, x, lambda m, t: dry_run(m, t, reuse=False)).activations


def test_the_peak_of_a_chain_is_its_largest_pair_of_neighbours() -> None:
    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).eval()
    # relu reads the first output (3 x 8 floats) while it writes its own (3 x 8).
    assert _meta_plan(model, (3, 4)) == 2 * 3 * 8 * 4


def test_views_of_parameters_allocate_nothing() -> None:
    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(1000, 1000)).eval()  # addmm(bias, x, weight.t())
    assert _meta_plan(model, (2, 1000)) == 2 * 1000 * 4


@pytest.mark.parametrize("name", ["mlp", "rgnet", "tiny_lm", "lazy_cnn", "lazy_mlp"])
def test_the_meta_plan_is_what_the_cpu_run_holds(name: str) -> None:
    spec = netinspect.load(str(CONFIGS / f"{name}.yaml"))
    (chosen,) = netinspect.choose_input(spec)
    plan = netinspect.plan_memory(netinspect.build(spec), chosen)
    real = compile_spec(spec, "cpu")
    dtype = torch.int64 if chosen.dtype == "int64" else torch.float32
    example = example_input(chosen.shape, dtype, "cpu", real.module)
    dry_run(real.module, example)  # shapes lazy layers for real; then measure a second run
    tracker = LiveStorages()
    with tracker:
        dry_run(real.module, example)
    # cpu kernels may hold a little less than the tensors the meta pass creates (a
    # convolution's output written in place of a temporary), never more.
    assert tracker.peak <= plan.activations <= tracker.peak * 1.01
    assert plan.parameters == sum(
        t.numel() * t.element_size()
        for t in {id(t): t for t in (*real.module.parameters(), *real.module.buffers())}.values()
    )


def test_a_run_that_will_not_fit_is_refused_before_allocating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from netinspect.builder import compiler

    built: list[str] = []
    real_compile = compile_spec

    def spy(spec: object, device: str = "meta", *args: object, **kwargs: object) -> object:
        built.append(device)
        return real_compile(spec, device, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(compiler, "compile_spec", spy)
    spec = netinspect.load_string("input: [4, 20000]\nmodel: [{LazyLinear: 20000}]\n", "b.yaml")
    with pytest.raises(MemoryLimitError) as err:
        netinspect.dry_run(spec, device="cpu", limits=Limits(max_memory=10**8))
    assert "needs 1.49 GiB (parameters and buffers 1.49 GiB" in err.value.message
    assert "activations 312.50 KiB" in err.value.message
    rule = Rule(netinspect.scheme("zeros"), None)
    with pytest.raises(MemoryLimitError):
        netinspect.initialize(spec, [rule], seed=0, limits=Limits(max_memory=10**8))
    assert built == ["meta", "meta"]  # planned twice, built for real never


def test_init_plans_the_temporaries_of_half_precision_weights() -> None:
    spec = netinspect.load_string("dtype: float16\nmodel: [{Linear: [1000, 1000]}]\n", "h.yaml")
    weights = 1000 * 1000 * 2 + 1000 * 2
    rule = Rule(netinspect.scheme("orthogonal"), None)
    with pytest.raises(MemoryLimitError, match=r"init temporaries 11\.44 MiB"):
        netinspect.initialize(spec, [rule], seed=0, limits=Limits(max_memory=weights + 10**6))
    netinspect.initialize(spec, [rule], seed=0, limits=Limits(max_memory=weights + 12 * 2**20))


def test_the_command_refuses_activations_that_will_not_fit(tmp_path: Path) -> None:
    spec = tmp_path / "big.yaml"
    spec.write_text("input: [1, 3, 64, 64]\nmodel: [{Upsample: {scale_factor: 40}}, ReLU]\n")
    result = run_netinspect("dry-run", str(spec), "--device", "cpu", "--max-memory", "100MB")
    assert result.code == 1
    assert result.err.startswith(f"{spec}:2:8: error: running this model on cpu needs 150.05 MiB")
    assert "activations 150.00 MiB" in result.err
    ok = run_netinspect("dry-run", str(spec), "--device", "cpu", "--max-memory", "200MB")
    assert ok.code == 0, ok.err
