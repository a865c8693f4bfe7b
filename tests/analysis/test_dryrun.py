"""dry-run and shared against torch: shapes from forward hooks, FLOPs from FlopCounterMode,
materialized shapes and identity groups from the same network written by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import netinspect
from netinspect.analysis import shared
from netinspect.analysis.dryrun import dry_run
from netinspect.cli.options import parse_shape
from netinspect.errors import ForwardError, MemoryLimitError, OptionError
from tests.conftest import CONFIG_NAMES, CONFIGS, run_netinspect, sequential
from tests.reference import REFERENCES

SMALL = [n for n in CONFIG_NAMES if n != "huge"]


def run_config(name: str, device: str = "meta") -> Any:
    spec = netinspect.load(str(CONFIGS / f"{name}.yaml"))
    compiled = netinspect.build(spec, device=device)
    return compiled, netinspect.dry_run(compiled, netinspect.choose_input(spec), device=device)


def reference_calls(model: nn.Module, x: torch.Tensor) -> tuple[list[tuple[str, Any, Any]], int]:
    """(type, input shape, output shape) per call in call order, and total FLOPs, by torch."""
    calls: list[list[Any]] = []
    stack: list[list[Any]] = []

    def pre(m: nn.Module, args: tuple[Any, ...]) -> None:
        entry = [type(m).__name__, tuple(args[0].shape), None]
        calls.append(entry)
        stack.append(entry)

    def post(m: nn.Module, args: tuple[Any, ...], out: torch.Tensor) -> None:
        stack.pop()[2] = tuple(out.shape)

    for m in set(model.modules()):
        m.register_forward_pre_hook(pre)
        m.register_forward_hook(post)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model.eval()(x)
    return [(t, i, o) for t, i, o in calls], counter.get_total_flops()


def reference_input(name: str) -> torch.Tensor:
    spec = netinspect.load(str(CONFIGS / f"{name}.yaml"))
    (one,) = spec.inputs
    if one.dtype == "int64":
        return torch.zeros(one.shape, dtype=torch.int64)
    return torch.randn(one.shape)


@pytest.mark.parametrize("name", SMALL)
def test_shapes_and_flops_equal_torch_hooks(name: str) -> None:
    _, report = run_config(name)
    reference = REFERENCES[name]()
    calls, flops = reference_calls(reference, reference_input(name))
    assert [(c.type, c.input, c.output) for c in report.layers] == calls
    assert report.flops == flops
    assert report.layers[0].flops == flops  # the root's FLOPs include everything below it


@pytest.mark.parametrize("name", SMALL)
def test_paths_are_call_sites(name: str) -> None:
    _, report = run_config(name)
    model = REFERENCES[name]()
    # Every model here is Sequential all the way down, so calls follow module order, and a
    # shared module appears at each of its paths.
    assert [c.path for c in report.layers] == [
        p for p, _ in model.named_modules(remove_duplicate=False)
    ]


@pytest.mark.parametrize("name", SMALL)
def test_materialized_shapes_and_totals_equal_torch(name: str) -> None:
    compiled, report = run_config(name)
    reference = REFERENCES[name]()
    with torch.no_grad():
        reference.eval()(reference_input(name))
    shapes = {n: tuple(p.shape) for n, p in reference.named_parameters(remove_duplicate=False)}
    lazy_names = {n for n, p in REFERENCES[name]().named_parameters() if nn.parameter.is_lazy(p)}
    assert {m.name: m.shape for m in report.materialized} == {n: shapes[n] for n in lazy_names}
    assert report.total == sum(p.numel() for p in reference.parameters())
    ours = {n: tuple(p.shape) for n, p in compiled.module.named_parameters(remove_duplicate=False)}
    assert ours == shapes


def test_a_lazy_mlp_is_shaped_by_the_pass() -> None:
    _, report = run_config("lazy_mlp")
    assert report.materialized[0].name == "0.weight"
    assert report.materialized[0].shape == (256, 20)
    assert report.output == (2, 10)


def test_shared_lazy_block_materializes_once() -> None:
    spec = netinspect.load_string(
        "shared:\n  lz: {LazyLinear: 4}\nmodel:\n  - Linear: [3, 4]\n  - lz\n  - lz\n", "s.yaml"
    )
    compiled = netinspect.build(spec)
    report = netinspect.dry_run(compiled, netinspect.choose_input(spec, (2, 3)))
    assert [(m.name, m.shape) for m in report.materialized] == [
        ("1.weight", (4, 4)),
        ("1.bias", (4,)),
    ]
    assert sequential(compiled.module)[1] is sequential(compiled.module)[2]
    assert [c.path for c in report.layers] == ["", "0", "1", "2"]


def test_huge_dry_run_allocates_nothing() -> None:
    compiled, report = run_config("huge")
    assert report.total == 75_169_136_640
    assert report.output == (1, 16, 8192)
    assert all(p.device.type == "meta" for p in compiled.module.parameters())
    assert report.device == "meta"


def test_cpu_run_leaves_batch_norm_statistics_alone() -> None:
    compiled, report = run_config("lazy_cnn", device="cpu")
    assert report.device == "cpu"
    for m in compiled.module.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert m.running_mean is not None
            assert m.num_batches_tracked is not None
            assert torch.equal(m.running_mean, torch.zeros(16))
            assert int(m.num_batches_tracked) == 0
    assert compiled.module.training  # the mode the user had is restored


def test_cpu_refuses_a_model_larger_than_memory() -> None:
    spec = netinspect.load(str(CONFIGS / "huge.yaml"))
    with pytest.raises(MemoryLimitError, match=r"needs 280\.03 GiB"):
        netinspect.build(spec, device="cpu")


def test_shape_mismatch_names_the_layer_and_its_line() -> None:
    spec = netinspect.load_string(
        "model:\n  - Linear: [4, 8]\n  - ReLU\n  - Linear: [9, 4]\n", "bad.yaml"
    )
    with pytest.raises(ForwardError) as err:
        netinspect.dry_run(netinspect.build(spec), netinspect.choose_input(spec, (2, 4)))
    assert "layer 2, Linear(in_features=9, out_features=4, bias=True)" in err.value.message
    assert "got an input of shape [2, 8]" in err.value.message
    assert err.value.location is not None
    assert (err.value.location.file, err.value.location.line) == ("bad.yaml", 4)


def test_wrong_rank_input_is_a_forward_error() -> None:
    spec = netinspect.load(str(CONFIGS / "lazy_cnn.yaml"))
    # Conv2d accepts an unbatched [C, H, W] input; the batch norm after it does not.
    with pytest.raises(ForwardError, match=r"layer features\.0\.1, BatchNorm2d.*expected 4D"):
        netinspect.dry_run(netinspect.build(spec), netinspect.choose_input(spec, (2, 3, 32)))


def test_the_pass_leaves_every_forward_and_training_flag_as_it_found_them() -> None:
    relu = nn.ReLU()

    def own_forward(x: torch.Tensor) -> torch.Tensor:
        return x

    relu.forward = own_forward  # type: ignore[method-assign, assignment]  # as a user may
    dropout = nn.Dropout().eval()  # a flag of its own, not the root's
    for device in ("cpu", "meta"):
        with torch.device(device):
            model = nn.Sequential(nn.Linear(2, 2), dropout, nn.Sequential(relu))
        before = [(m, m.__dict__.get("forward"), m.training) for m in model.modules()]
        for reuse in (True, False):
            dry_run(model, torch.zeros(1, 2, device=device), reuse=reuse)
            for m, own, training in before:
                assert m.training is training
                assert m.__dict__.get("forward") is own  # the wrapper is gone
    assert relu.forward is own_forward


def test_missing_input_is_a_clear_error() -> None:
    spec = netinspect.load_string("model: [ReLU]\n", "n.yaml")
    with pytest.raises(OptionError, match="no example input"):
        netinspect.choose_input(spec)


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("2x4", (2, 4)),
        ("2,4", (2, 4)),
        ("[2, 4]", (2, 4)),
        ("1x16x8192", (1, 16, 8192)),
        ("7", (7,)),
    ],
)
def test_input_shapes_parse(text: str, shape: tuple[int, ...]) -> None:
    assert parse_shape(text) == shape


@pytest.mark.parametrize("text", ["", "2xq", "2x0", "-1x4", "2.5x4", "x"])
def test_bad_input_shapes_are_option_errors(text: str) -> None:
    with pytest.raises(OptionError, match="is not a shape"):
        parse_shape(text)


@pytest.mark.parametrize("name", SMALL)
def test_shared_groups_equal_identity_groups(name: str) -> None:
    compiled, _ = run_config(name)
    reference = REFERENCES[name]()
    groups: dict[int, list[str]] = {}
    for n, p in reference.named_parameters(remove_duplicate=False):
        groups.setdefault(id(p), []).append(n)
    expected = [g for g in groups.values() if len(g) > 1]
    report = shared(compiled.module, name)
    assert [list(g.names) for g in report.groups] == expected
    assert report.saved == sum(
        (len(g) - 1) * dict(reference.named_parameters(remove_duplicate=False))[g[0]].numel()
        for g in expected
    )


def test_a_shared_layer_is_one_module_at_two_places() -> None:
    compiled, _ = run_config("tied")
    report = shared(compiled.module, "tied")
    assert [g.names for g in report.groups] == [("2.weight", "4.weight"), ("2.bias", "4.bias")]
    assert report.saved == 72
    assert report.saved_bytes == 288


def _report_without_reuse(name_or_text: str, shape: str | None = None) -> tuple[Any, Any]:
    text = (
        (CONFIGS / f"{name_or_text}.yaml").read_text() if "\n" not in name_or_text else name_or_text
    )
    reports = []
    for reuse in (True, False):
        spec = netinspect.load_string(text, "r.yaml")
        compiled = netinspect.build(spec)
        (chosen,) = netinspect.choose_input(spec, parse_shape(shape) if shape else None)
        example = torch.empty(
            chosen.shape,
            dtype=torch.int64 if chosen.dtype == "int64" else torch.float32,
            device="meta",
        )
        reports.append(dry_run(compiled.module, example, "m", reuse=reuse))
    return reports[0], reports[1]


@pytest.mark.parametrize("name", SMALL)
def test_reusing_identical_calls_changes_nothing(name: str) -> None:
    reused, fresh = _report_without_reuse(name)
    assert reused == fresh


def test_reuse_on_repeated_layers_keeps_shapes_and_flops() -> None:
    text = (
        "blocks:\n  layer: [{LayerNorm: 16}, {Linear: [16, 32]}, GELU, {Linear: [32, 16]}]\n"
        "model:\n  - repeat: 50\n    layer: layer\n  - Flatten\n  - LazyLinear: 3\n"
    )
    reused, fresh = _report_without_reuse(text, "4x5x16")
    assert reused == fresh
    assert reused.output == (4, 3)
    assert reused.flops == fresh.flops > 50 * 2 * 4 * 5 * 16 * 32 * 2


def test_forwards_are_restored_and_an_instance_forward_is_kept() -> None:
    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    own = model[1].forward
    model[1].forward = lambda x: x * 2  # the user's own instance override
    dry_run(model, torch.empty(1, 2, device="meta"))
    assert "forward" not in model[0].__dict__
    assert "forward" not in model[2].__dict__
    assert model[1].forward is not own  # still the user's lambda, untouched
    assert model[1].forward(torch.ones(1)).item() == 2


def test_each_module_keeps_its_own_training_flag() -> None:
    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(), nn.Sequential(nn.BatchNorm1d(2)))
    model[1].eval()  # mixed modes, as a user may leave them
    before = [m.training for m in model.modules()]
    dry_run(model, torch.empty(3, 2, device="meta"))
    assert [m.training for m in model.modules()] == before


class _Repeat(nn.Module):
    """A leaf whose output shape depends on a setting that is not in its repr."""

    def __init__(self, times: int):
        super().__init__()
        self.times = times

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.repeat(1, self.times)


class _Narrow(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :4].contiguous()


def test_identical_looking_leaves_with_different_settings_are_not_confused() -> None:
    model = nn.Sequential(_Repeat(2), _Narrow(), _Repeat(3))  # both repeats get [1, 4]
    report = dry_run(model, torch.empty(2, 4, device="meta"))
    assert [c.output for c in report.layers[1:]] == [(2, 8), (2, 4), (2, 12)]


class _Residual(nn.Module):
    """A block with FLOPs of its own, outside any child: a matmul in its forward."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = x @ self.inner(x).T
        return out


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_flops_in_a_blocks_own_forward_are_counted(device: str) -> None:
    with torch.device(device):
        model = nn.Sequential(_Residual(), nn.ReLU(), _Residual())
    x = torch.zeros(8, 8, device=device)
    with FlopCounterMode(display=False) as counter:
        model(x)
    report = dry_run(model, x)
    assert report.flops == counter.get_total_flops() == 2 * 2 * (2 * 8 * 8 * 8)
    assert [c.flops for c in report.layers] == [4096, 2048, 1024, 0, 2048, 1024]


F64 = "dtype: float64\ninput: [2, 4]\nmodel:\n  - Linear: [4, 8]\n"


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_stated_input_dtype_is_used_as_given(tmp_path: Any, device: str) -> None:
    spec = tmp_path / "f64.yaml"
    spec.write_text(F64)
    unstated = run_netinspect("dry-run", str(spec), "--device", device, "--format", "json")
    assert json.loads(unstated.out)["input_dtype"] == "float64"  # follows the parameters
    stated = run_netinspect("dry-run", str(spec), "--device", device, "--input-dtype", "float16")
    assert stated.code == 1
    assert stated.err.startswith(f"{spec}:4:5: error: layer 0, Linear")
    assert "float16" in stated.err
    assert "--input-dtype" in stated.err
    torch_refuses = torch.nn.Linear(4, 8, dtype=torch.float64)
    with pytest.raises(RuntimeError):  # what the located error stands for
        torch_refuses(torch.zeros(2, 4, dtype=torch.float16))
    spec.write_text(F64.replace("input: [2, 4]", "input: {shape: [2, 4], dtype: float32}"))
    in_spec = run_netinspect("dry-run", str(spec), "--device", device)
    assert in_spec.code == 1
    assert "float32 and float64" in in_spec.err


@pytest.mark.parametrize("batch_first", [True, False])
def test_cpu_counts_the_flops_of_fused_attention_as_meta_and_torch_do(
    tmp_path: Any, batch_first: bool
) -> None:
    shape = [2, 16, 64] if batch_first else [16, 2, 64]
    spec = tmp_path / "enc.yaml"
    spec.write_text(
        f"input: {shape}\nmodel:\n  - TransformerEncoderLayer: "
        f"{{d_model: 64, nhead: 4, batch_first: {str(batch_first).lower()}}}\n"
    )
    layer = nn.TransformerEncoderLayer(64, 4, batch_first=batch_first)
    with FlopCounterMode(display=False) as counter:  # training: torch's unfused path
        layer(torch.zeros(shape))
    for device in ("meta", "cpu"):
        result = run_netinspect("dry-run", str(spec), "--device", device, "--format", "json")
        assert result.code == 0, result.err
        doc = json.loads(result.out)
        assert doc["flops"] == counter.get_total_flops(), device
        assert doc["uncounted"] == []
        assert result.err == ""


UNCOUNTED = """
import torch
from torch import nn

class Fused(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)

    def forward(self, x):  # the Linear's work, by operators FlopCounterMode does not count
        return (x.unsqueeze(-1) * self.proj.weight.T).sum(-2) + self.proj.bias

def make():
    return nn.Sequential(Fused(), nn.Linear(4, 2))
"""


def test_a_call_whose_flops_could_not_be_counted_is_said(tmp_path: Any) -> None:
    (tmp_path / "fusedmodel.py").write_text(UNCOUNTED)
    args = ("dry-run", "fusedmodel:make", "--allow-import", "--input", "3x4")
    result = run_netinspect(*args, "--format", "json", cwd=tmp_path)
    assert result.code == 0, result.err
    assert json.loads(result.out)["uncounted"] == ["0"]
    assert json.loads(result.out)["flops"] == 2 * 3 * 4 * 2  # the second Linear's alone
    text = run_netinspect(*args, cwd=tmp_path)
    assert text.err.startswith("warning: the FLOPs of 1 call could not be counted")
    assert ": 0 (torch ran an operator" in text.err


def test_hints_fit_the_cause(tmp_path: Any) -> None:
    spec = tmp_path / "emb.yaml"
    spec.write_text("input: [2, 4]\nmodel:\n  - Embedding: [10, 4]\n")
    with pytest.raises(RuntimeError):  # torch refuses float indices too
        nn.Embedding(10, 4)(torch.zeros(2, 4))
    for device in ("meta", "cpu"):
        floats = run_netinspect("dry-run", str(spec), "--device", device)
        assert floats.code == 1
        assert floats.err.rstrip().endswith(
            "This layer takes indices: give --input-dtype int64 (or dtype: int64 under the "
            "spec's input:)."
        )
    two_inputs = run_netinspect(
        "dry-run", "torch.nn:Transformer", "--allow-import", "--input", "2x3x512"
    )
    assert two_inputs.code == 1
    assert "missing 1 required positional argument: 'tgt'" in two_inputs.err
    assert (
        "Its forward() also takes 'tgt': give each with --input tgt=SHAPE[:DTYPE] (repeatable)"
        in two_inputs.err
    )
    unknown = run_netinspect(
        "dry-run", "torch.nn:ReLU", "--allow-import", "--input", "x=2x3", "--input", "2x3"
    )
    assert "Its forward() has no argument 'x'" in unknown.err
    sizes = run_netinspect("dry-run", "configs/mlp.yaml", "--input", "2x5")
    assert "Check the sizes of this layer" in sizes.err
    target = run_netinspect("dry-run", "torch.nn:Linear", "--allow-import")
    assert target.err.startswith(
        "torch.nn:Linear: error: no example input: a Python target has no spec to hold one, "
        "so --input is needed."
    )


def test_shared_calls_and_tied_tensors_are_marked() -> None:
    doc = json.loads(run_netinspect("dry-run", "configs/tiny_lm.yaml", "--format", "json").out)
    marks = {row["path"]: (row["shared"], row["tied"]) for row in doc["layers"]}
    assert marks["embed"] == marks["head"] == (False, True)
    assert marks["layers.0.1"] == (False, False)
    tied = json.loads(run_netinspect("dry-run", "configs/tied.yaml", "--format", "json").out)
    assert [row["path"] for row in tied["layers"] if row["shared"]] == ["2", "4"]
    text = run_netinspect("dry-run", "configs/tiny_lm.yaml").out
    assert "(head): Linear [tied]" in text
    assert "Params count a module's tensors at each call; the total counts each once" in text
    assert "Params count" not in run_netinspect("dry-run", "configs/mlp.yaml").out


def test_depth_shows_the_upper_calls_whose_rows_sum_the_rest() -> None:
    full = json.loads(run_netinspect("dry-run", "configs/rgnet.yaml", "--format", "json").out)
    cut = json.loads(
        run_netinspect("dry-run", "configs/rgnet.yaml", "--depth", "1", "--format", "json").out
    )
    assert [c["path"] for c in cut["layers"]] == ["", "0", "1"]
    assert cut["layers"] == [c for c in full["layers"] if c["depth"] <= 1]
    assert sum(c["flops"] for c in cut["layers"][1:]) == cut["flops"] == full["flops"]
    assert run_netinspect("dry-run", "configs/rgnet.yaml", "--depth", "-1").code == 2
