"""init against theory and torch: statistics on layers big enough to be tight, exact
selection, bit-identical seeds, ties kept through init and through the weights file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_model
from torch import nn

import netinspect
from netinspect.analysis.init import InitReport, ParamInit, Rule
from netinspect.cli.options import parse_scheme
from netinspect.errors import InitError, Location, MemoryLimitError, OptionError, OutputFileError
from netinspect.files import atomic_write
from netinspect.randomness import RNG_VERSION, stream_seed
from tests.attacks import CHOICES_DECLARED
from tests.conftest import CONFIGS, run_netinspect, sequential
from tests.reference import REFERENCES

BIG = "model:\n  - Linear: [512, 512]\n  - Tanh\n  - Linear: [512, 256]\n"


def scheme(text: str) -> Rule:
    return Rule(netinspect.scheme(parse_scheme(text)), netinspect.scheme(parse_scheme("zeros")))


def seeded_reference(name: str, seed: int) -> nn.Module:
    """The config in plain torch, each layer's default init run again under the generator
    ``init`` gives it: seeded from (seed, the layer's path) (netinspect.randomness). A tied
    tensor keeps the values of the layer that has it first, as a spec's ties: do."""
    model = REFERENCES[name]()
    done: set[int] = set()
    for path, module in model.named_modules():
        own = {id(p) for p in module.parameters(recurse=False)}
        if not own or own & done or not hasattr(module, "reset_parameters"):
            continue
        done |= own
        torch.manual_seed(stream_seed(seed, path, "default"))
        module.reset_parameters()
    return model


def init_text(text: str, *rules: Rule, seed: int = 0) -> tuple[nn.Module, InitReport]:
    spec = netinspect.load_string(text, "i.yaml")
    compiled, report = netinspect.initialize(
        spec, [*netinspect.spec_rules(spec), *rules], seed=seed
    )
    return compiled.module, report


def row(report: InitReport, name: str) -> ParamInit:
    return next(p for p in report.parameters if p.name == name)


def test_normal_std_and_mean() -> None:
    model, report = init_text(BIG, scheme("normal:mean=0.5,std=0.02"))
    w = model.get_parameter("0.weight").detach()
    assert float(w.std()) == pytest.approx(0.02, rel=0.01)
    assert float(w.mean()) == pytest.approx(0.5, abs=0.001)
    assert row(report, "0.weight").expected_std == 0.02
    assert not row(report, "0.weight").off


def test_uniform_bounds_and_std() -> None:
    model, report = init_text(BIG, scheme("uniform:a=-10,b=10"))
    w = model.get_parameter("0.weight").detach()
    assert -10 <= float(w.min()) < -9.9
    assert 9.9 < float(w.max()) <= 10
    assert float(w.std()) == pytest.approx(20 / math.sqrt(12), rel=0.01)
    assert not row(report, "0.weight").off


@pytest.mark.parametrize(
    ("name", "gain"), [("xavier_uniform", 1.0), ("xavier_normal", 2.0), ("xavier", 1.0)]
)
def test_xavier_std_and_bounds(name: str, gain: float) -> None:
    model, report = init_text(BIG, scheme(f"{name}:gain={gain}"))
    w = model.get_parameter("2.weight").detach()  # fan_in 512, fan_out 256
    std = gain * math.sqrt(2 / (512 + 256))
    assert float(w.std()) == pytest.approx(std, rel=0.02)
    assert row(report, "2.weight").expected_std == pytest.approx(std)
    if name != "xavier_normal":
        assert float(w.abs().max()) <= math.sqrt(3) * std + 1e-6
    assert not row(report, "2.weight").off


@pytest.mark.parametrize("kind", ["kaiming_uniform", "kaiming_normal"])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize(
    ("nonlinearity", "a"), [("relu", 0), ("leaky_relu", 0.2), ("tanh", 0), ("linear", 0)]
)
def test_kaiming_std_for_each_mode_and_nonlinearity(
    kind: str, mode: str, nonlinearity: str, a: float
) -> None:
    rule = scheme(f"{kind}:mode={mode},nonlinearity={nonlinearity},a={a}")
    model, report = init_text(BIG, rule)
    w = model.get_parameter("2.weight").detach()  # [256, 512]: fan_in 512, fan_out 256
    fan = 512 if mode == "fan_in" else 256
    std = nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)  # type: ignore[arg-type]
    assert float(w.std()) == pytest.approx(std, rel=0.02)
    if kind == "kaiming_uniform":
        assert float(w.abs().max()) <= math.sqrt(3) * std + 1e-6
    assert row(report, "2.weight").expected_std == pytest.approx(std)
    assert not row(report, "2.weight").off


def test_orthogonal_is_orthogonal() -> None:
    model, report = init_text(BIG, scheme("orthogonal:gain=1"))
    square = model.get_parameter("0.weight").detach()
    assert torch.allclose(square.T @ square, torch.eye(512), atol=1e-4)
    wide = model.get_parameter("2.weight").detach()  # [256, 512]: orthonormal rows
    assert torch.allclose(wide @ wide.T, torch.eye(256), atol=1e-4)
    assert not row(report, "0.weight").off
    assert not row(report, "2.weight").off


def test_trunc_normal_and_sparse_promises_hold() -> None:
    _, report = init_text(BIG, scheme("trunc_normal:std=1,a=-1,b=1"))
    assert row(report, "0.weight").min >= -1
    assert row(report, "0.weight").max <= 1
    assert not row(report, "0.weight").off
    _, report = init_text(BIG, scheme("sparse:sparsity=0.5,std=0.1"))
    assert row(report, "0.weight").zeros == pytest.approx(0.5)
    assert not row(report, "0.weight").off


def test_constants_and_eye() -> None:
    model, report = init_text(BIG, scheme("constant:val=42"))
    assert torch.all(model.get_parameter("0.weight") == 42)
    assert row(report, "0.weight").std == 0
    assert row(report, "0.bias").zeros == 1.0
    model, _ = init_text(BIG, scheme("eye"))
    assert torch.equal(model.get_parameter("0.weight"), torch.eye(512))


def test_fan_schemes_skip_one_dimensional_weights() -> None:
    model, report = init_text("model:\n  - PReLU: 8\n  - Linear: [8, 8]\n", scheme("xavier"))
    assert torch.all(model.get_parameter("0.weight") == 0.25)  # PReLU's own default
    assert "needs at least 2 dims, this has 1" in row(report, "0.weight").note


@pytest.mark.parametrize("name", ["xavier", "kaiming", "orthogonal", "dirac", "eye"])
@pytest.mark.parametrize("rank", [1, 2, 3, 5, 6])
def test_a_scheme_applies_to_every_rank_torch_accepts(name: str, rank: int) -> None:
    from netinspect.analysis.init import _misfit

    tensor = torch.empty((2,) * rank)
    chosen = netinspect.scheme(parse_scheme(name))
    assert chosen.func is not None
    try:
        chosen.func(tensor.clone())
        torch_accepts = True
    except (ValueError, RuntimeError):
        torch_accepts = False
    assert (_misfit(chosen, tensor) == "") == torch_accepts, _misfit(chosen, tensor)


def test_an_off_std_is_marked() -> None:
    model = nn.Linear(512, 512)
    rule = scheme("normal:std=0.02")
    from netinspect.analysis.init import statistics

    with torch.no_grad():
        model.weight.normal_(0, 0.05)  # not what the scheme promises
    assert statistics("weight", model.weight, rule.weight).off  # type: ignore[arg-type]


def test_select_and_type_touch_exactly_the_chosen() -> None:
    text = (CONFIGS / "mlp.yaml").read_text()
    reference = seeded_reference("mlp", 0)  # the defaults init gives under the same seed
    xavier0 = Rule(netinspect.scheme(parse_scheme("xavier")), None, match_path="0")
    const2 = Rule(netinspect.scheme(parse_scheme("constant:val=42")), None, match_path="2")
    model, report = init_text(text, xavier0, const2, seed=0)
    assert torch.all(model.get_parameter("2.weight") == 42)
    defaults = dict(reference.named_parameters())
    assert torch.equal(model.get_parameter("0.bias"), defaults["0.bias"])  # untouched
    assert torch.equal(model.get_parameter("2.bias"), defaults["2.bias"])  # untouched
    assert not torch.equal(model.get_parameter("0.weight"), defaults["0.weight"])
    assert [p.scheme for p in report.parameters] == [
        "xavier",
        "default",
        "constant(val=42)",
        "default",
    ]
    by_type = Rule(netinspect.scheme(parse_scheme("ones")), None, match_type="Linear")
    model, _ = init_text(text, by_type)
    assert all(torch.all(model.get_parameter(n) == 1) for n in ("0.weight", "2.weight"))


def test_spec_rules_apply_in_order_and_the_cli_wins() -> None:
    text = (
        "model:\n  - Linear: [4, 8]\n  - ReLU\n  - Linear: [8, 1]\n"
        "init:\n  - match: {type: Linear}\n"
        "    weight: {normal: {mean: 0, std: 0.01}}\n    bias: zeros\n"
        "  - match: {path: '2'}\n    weight: {constant: 42}\n"
    )
    model, _ = init_text(text)
    assert torch.all(model.get_parameter("2.weight") == 42)
    assert torch.all(model.get_parameter("0.bias") == 0)
    assert float(model.get_parameter("0.weight").detach().abs().max()) < 0.1
    model, _ = init_text(text, scheme("ones"))
    assert torch.all(model.get_parameter("2.weight") == 1)


def test_default_scheme_is_each_layer_built_by_torch_under_its_own_seed() -> None:
    default = Rule(
        netinspect.scheme(parse_scheme("default")), netinspect.scheme(parse_scheme("default"))
    )
    # Each layer draws from a generator of its own, so the order layers are built in (the
    # shared ones first, in tied and tiny_lm) does not matter.
    for name in ("mlp", "rgnet", "tied", "tiny_lm"):
        model, _ = init_text((CONFIGS / f"{name}.yaml").read_text(), default, seed=7)
        reference = seeded_reference(name, 7)
        ours = dict(model.named_parameters(remove_duplicate=False))
        for n, p in reference.named_parameters(remove_duplicate=False):
            assert torch.equal(ours[n], p), (name, n)


def test_ties_hold_after_init_and_after_loading_the_file(tmp_path: Path) -> None:
    out = tmp_path / "lm.safetensors"
    result = run_netinspect(
        "init",
        "configs/tiny_lm.yaml",
        "--scheme",
        "normal:std=0.02",
        "--seed",
        "1",
        "--out",
        str(out),
    )
    assert result.code == 0, result.err
    spec = netinspect.load(str(CONFIGS / "tiny_lm.yaml"))
    compiled, _ = netinspect.initialize(spec, [scheme("normal:std=0.02")], seed=1)
    model = compiled.module
    assert model.get_parameter("head.weight") is model.get_parameter("embed.weight")
    fresh = netinspect.build(spec, device="cpu").module
    load_model(fresh, str(out))
    with safe_open(str(out), "pt") as f:
        recorded = json.loads(f.metadata()["netinspect"])
    assert recorded == {
        "seed": "1",
        "scheme": "normal:std=0.02",
        "rng": RNG_VERSION,
        "ties": {"head.weight": "embed.weight"},
    }
    assert fresh.get_parameter("head.weight") is fresh.get_parameter("embed.weight")
    for n, p in model.named_parameters():
        assert torch.equal(fresh.get_parameter(n), p), n


def test_seed_reproduces_the_file_byte_for_byte(tmp_path: Path) -> None:
    a, b, c = (tmp_path / f"{x}.safetensors" for x in "abc")
    # Different hash seeds: nothing in the file may depend on set or dict-hash order.
    for path, seed, hash_seed in ((a, "5", "1"), (b, "5", "2"), (c, "6", "1")):
        args = (
            "init",
            "configs/lazy_cnn.yaml",
            "--scheme",
            "kaiming",
            "--seed",
            seed,
            "--out",
            str(path),
        )
        assert run_netinspect(*args, env={"PYTHONHASHSEED": hash_seed}).code == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_without_a_seed_the_seed_used_is_reported() -> None:
    result = run_netinspect("init", "configs/mlp.yaml", "--scheme", "xavier", "--format", "json")
    import json

    doc = json.loads(result.out)
    assert isinstance(doc["seed"], int)
    again = run_netinspect(
        "init",
        "configs/mlp.yaml",
        "--scheme",
        "xavier",
        "--seed",
        str(doc["seed"]),
        "--format",
        "json",
    )
    assert json.loads(again.out)["parameters"] == doc["parameters"]


def test_init_json_follows_the_contract() -> None:
    result = run_netinspect(
        "init",
        "configs/mlp.yaml",
        "--scheme",
        "constant:val=42",
        "--select",
        "2",
        "--seed",
        "0",
        "--format",
        "json",
    )
    doc = __import__("json").loads(result.out)
    assert set(doc) >= {"model", "scheme", "seed", "parameters"}
    assert (doc["model"], doc["scheme"], doc["seed"]) == ("mlp", "constant:val=42", 0)
    first = doc["parameters"][2]
    assert set(first) >= {"name", "scheme", "mean", "std", "min", "max"}
    assert (first["name"], first["mean"], first["std"], first["min"], first["max"]) == (
        "2.weight",
        42.0,
        0.0,
        42.0,
        42.0,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "normal:sd=1",
            "normal has no argument 'sd'; it takes mean: float = 0.0, std: float = 1.0",
        ),
        ("normal:std=abc", "std must be a number, got 'abc'"),
        (
            "kaiming:mode=fan_up",
            "mode must be one of 'fan_in', 'fan_out'"
            if CHOICES_DECLARED
            else "mode must be 'fan_in' or 'fan_out'",
        ),
        ("xavir", "unknown init scheme 'xavir'"),
        ("default:x=1", "takes no arguments"),
        ("my_inits:clip", "netinspect imports code only when you allow it"),
    ],
)
def test_bad_schemes_list_what_is_valid(text: str, message: str) -> None:
    with pytest.raises(InitError) as err:
        netinspect.scheme(parse_scheme(text))
    assert message in str(err.value)


def test_custom_scheme_runs_only_when_allowed(tmp_path: Path) -> None:
    (tmp_path / "my_inits.py").write_text(
        "import torch\n"
        "def clip_small(t):\n"
        "    torch.nn.init.uniform_(t, -10, 10)\n"
        "    t *= t.abs() >= 5\n"
    )
    spec = str(CONFIGS / "mlp.yaml")
    refused = run_netinspect("init", spec, "--scheme", "my_inits:clip_small", cwd=tmp_path)
    assert refused.code == 1
    assert "--allow-import" in refused.err
    allowed = run_netinspect(
        "init",
        spec,
        "--scheme",
        "my_inits:clip_small",
        "--allow-import",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert allowed.code == 0, allowed.err
    weight = __import__("json").loads(allowed.out)["parameters"][0]
    assert weight["zeros"] > 0
    assert 5 <= max(abs(weight["min"]), abs(weight["max"])) <= 10


def test_lazy_layers_need_an_input() -> None:
    spec = netinspect.load_string("model:\n  - LazyLinear: 4\n", "l.yaml")
    with pytest.raises(OptionError, match="lazy layers"):
        netinspect.initialize(spec, [scheme("xavier")], seed=0)
    _, report = netinspect.initialize(
        spec, [scheme("xavier")], seed=0, input=netinspect.choose_input(spec, (2, 3))
    )
    assert row(report, "0.weight").expected_std == pytest.approx(math.sqrt(2 / 7))


def test_nothing_to_do_and_no_match_are_errors() -> None:
    spec = netinspect.load(str(CONFIGS / "mlp.yaml"))
    with pytest.raises(OptionError, match="nothing to initialize"):
        netinspect.initialize(spec, [], seed=0)
    with pytest.raises(InitError, match="no parameter matches type 'Conv2d'"):
        netinspect.initialize(
            spec, [Rule(netinspect.scheme(parse_scheme("ones")), None, match_type="Conv2d")], seed=0
        )


def test_init_refuses_a_model_larger_than_memory() -> None:
    spec = netinspect.load(str(CONFIGS / "huge.yaml"))
    with pytest.raises(MemoryLimitError, match="only"):
        netinspect.initialize(spec, [scheme("xavier")], seed=0)


def test_existing_output_is_kept_without_force(tmp_path: Path) -> None:
    out = tmp_path / "w.safetensors"
    out.write_bytes(b"precious")
    result = run_netinspect("init", "configs/mlp.yaml", "--scheme", "ones", "--out", str(out))
    assert result.code == 1
    assert "already exists" in result.err
    assert out.read_bytes() == b"precious"
    forced = run_netinspect(
        "init", "configs/mlp.yaml", "--scheme", "ones", "--out", str(out), "--force"
    )
    assert forced.code == 0
    assert out.read_bytes() != b"precious"
    missing = run_netinspect(
        "init", "configs/mlp.yaml", "--scheme", "ones", "--out", str(tmp_path / "no" / "w")
    )
    assert missing.code == 1
    assert "does not exist" in missing.err


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, failure: BaseException
) -> None:
    out = tmp_path / "w.bin"
    out.write_bytes(b"old")

    def write(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise failure

    with pytest.raises(type(failure)):
        atomic_write(str(out), write, force=True)
    assert out.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.bin"]
    with pytest.raises(OutputFileError):
        atomic_write(str(out), write, force=False)


def test_progress_is_reported() -> None:
    spec = netinspect.load(str(CONFIGS / "mlp.yaml"))
    calls: list[tuple[int, int]] = []
    netinspect.initialize(
        spec, [scheme("ones")], seed=0, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_callers_rng_state_is_restored() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    netinspect.initialize(netinspect.load(str(CONFIGS / "mlp.yaml")), [scheme("ones")], seed=0)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    "values",
    [
        torch.randn(1000, 300) * 0.02 + 0.5,
        torch.rand(7, 11) * 20 - 10,
        torch.full((64, 64), 42.0),
        torch.zeros(5),
        torch.tensor([3.0]),
        torch.randn(256, 256, dtype=torch.float64),
        torch.rand(2048, 2049) - 0.5,  # many blocks, and a short last one
        torch.where(torch.rand(300, 300) < 0.3, 0.0, torch.randn(300, 300)),  # zeros to count
    ],
)
def test_statistics_equal_torch(values: torch.Tensor) -> None:
    from netinspect.analysis.init import statistics

    stats = statistics("w", values, netinspect.scheme(parse_scheme("default")))
    std, mean = torch.std_mean(values.double(), correction=0)
    assert stats.mean == pytest.approx(float(mean), rel=1e-9, abs=1e-12)
    assert stats.std == pytest.approx(float(std), rel=1e-9, abs=1e-12)
    assert (stats.min, stats.max) == (float(values.min()), float(values.max()))
    assert stats.zeros == 1 - int(torch.count_nonzero(values)) / values.numel()
    if float(values.min()) == float(values.max()):
        assert stats.std == 0.0  # exact for constants: the report's "off" mark relies on it


def _overwritten(text: str, *rules: Rule) -> set[str]:
    from netinspect.analysis.init import overwritten_layers

    spec = netinspect.load_string(text, "i.yaml")
    return overwritten_layers(netinspect.build(spec).module, [*netinspect.spec_rules(spec), *rules])


def test_only_layers_overwritten_whole_skip_their_default_init() -> None:
    text = (
        "model:\n  - Linear: [4, 8]\n  - LayerNorm: 8\n  - BatchNorm1d: 8\n"
        "  - Linear: {in_features: 8, out_features: 2, bias: false}\n  - LazyLinear: 3\n"
    )
    # LayerNorm's 1-D weight keeps its default under a fan scheme; BatchNorm has buffers;
    # a lazy layer has no shape yet.
    assert _overwritten(text, scheme("kaiming")) == {"0", "3"}
    assert _overwritten(text, scheme("ones")) == {"0", "3"}  # a norm layer is named or kept
    norms_too = Rule(*(netinspect.scheme(parse_scheme("ones")),) * 2, "LayerNorm")
    assert _overwritten(text, norms_too) == {"1"}
    weights_only = Rule(netinspect.scheme(parse_scheme("ones")), None)
    assert _overwritten(text, weights_only) == {"3"}  # layer 0's bias keeps its default
    assert _overwritten(text, scheme("default")) == set()
    assert _overwritten(text, Rule(*(netinspect.scheme(parse_scheme("ones")),) * 2, "Linear")) == {
        "0",
        "3",
    }


def test_skipped_layers_get_their_scheme_and_the_others_their_defaults() -> None:
    text = "model:\n  - Linear: [64, 64]\n  - LayerNorm: 64\n  - BatchNorm1d: 64\n"
    model, report = init_text(text, scheme("kaiming"), seed=3)
    assert row(report, "0.weight").scheme == "kaiming"
    assert torch.all(model.get_parameter("0.bias") == 0)
    assert torch.all(model.get_parameter("1.weight") == 1)  # LayerNorm's own default
    assert torch.all(model.get_buffer("2.running_var") == 1)  # built as torch builds it
    again, _ = init_text(text, scheme("kaiming"), seed=3)
    assert torch.equal(model.get_parameter("0.weight"), again.get_parameter("0.weight"))


# -- arguments checked before any tensor exists ------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("normal:std=-1", "std must be at least 0, got -1"),
        ("sparse:sparsity=1.5", "sparsity is the fraction of zeros, from 0 to 1, got 1.5"),
        ("uniform:a=1,b=0", "the bounds are reversed: a=1 is above b=0"),
        ("trunc_normal:a=2,b=-2", "the bounds are reversed"),
        ("trunc_normal:std=0", "trunc_normal needs std > 0 and a < b"),
        ("xavier:gain=.nan", "gain must be a finite number, got nan"),
        ("constant:val=.inf", "val must be a finite number, got inf"),
        ("orthogonal:gain=-2", "gain must be at least 0"),
        ("dirac:groups=0", "groups must be at least 1"),
        (
            "kaiming:nonlinearity=swish",
            "nonlinearity must be one of 'linear'"
            if CHOICES_DECLARED
            else "Unsupported nonlinearity swish",
        ),
        ("kaiming:nonlinearity=leaky_relu,a=x", "a must be a number"),
        ("normal:std=99999999999999999999", "does not fit in 64 bits"),
    ],
)
def test_impossible_scheme_arguments_are_refused_up_front(text: str, message: str) -> None:
    with pytest.raises(InitError) as err:
        netinspect.scheme(parse_scheme(text))
    assert message in str(err.value)
    assert err.value.location == Location("--scheme")


def test_orthogonal_works_in_half_precision() -> None:
    spec = netinspect.load_string("dtype: bfloat16\nmodel: [{Linear: [16, 16]}]\n", "h.yaml")
    compiled, report = netinspect.initialize(spec, [scheme("orthogonal")], seed=0)
    layer = sequential(compiled.module)[0]
    assert isinstance(layer, nn.Linear)
    weight = layer.weight.float()
    torch.testing.assert_close(weight @ weight.T, torch.eye(16), atol=0.02, rtol=0)
    assert row(report, "0.weight").scheme == "orthogonal"


def test_dirac_groups_that_do_not_divide_are_located_at_their_rule() -> None:
    text = "model: [{Conv1d: [6, 4, 3]}]\ninit:\n  - weight: {dirac: {groups: 3}}\n"
    spec = netinspect.load_string(text, "d.yaml")
    with pytest.raises(InitError, match="4 output channels do not divide into 3 groups") as err:
        netinspect.initialize(spec, netinspect.spec_rules(spec), seed=0)
    assert err.value.location == Location("d.yaml", 3, 5)


def test_a_rule_that_matches_nothing_says_where_it_is() -> None:
    text = "model: [{Linear: [2, 2]}]\ninit:\n  - match: {type: Conv2d}\n    weight: ones\n"
    spec = netinspect.load_string(text, "r.yaml")
    with pytest.raises(InitError, match="no parameter matches type 'Conv2d'") as err:
        netinspect.initialize(spec, netinspect.spec_rules(spec), seed=0)
    assert err.value.location == Location("r.yaml", 3, 5)


def test_a_failing_user_scheme_is_the_user_s_error(tmp_path: Path) -> None:
    (tmp_path / "bad_inits.py").write_text(
        "import sys, math\n"
        "def boom(t):\n    raise ValueError('not today')\n"
        "def leave(t):\n    sys.exit(3)\n"
        "def nan(t):\n    t.data.fill_(math.nan)\n"
    )
    spec = str(CONFIGS / "mlp.yaml")
    for function, message in (("boom", "ValueError: not today"), ("leave", "SystemExit: 3")):
        result = run_netinspect(
            "init", spec, "--scheme", f"bad_inits:{function}", "--allow-import", cwd=tmp_path
        )
        assert result.code == 1, result.err
        assert f"your scheme bad_inits:{function} failed on 0.weight [8, 4] float32" in result.err
        assert message in result.err
        assert result.err.startswith("--scheme: error: ")
    result = run_netinspect(
        "init", spec, "--scheme", "bad_inits:nan", "--allow-import", "--format", "json",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.err
    doc = json.loads(result.out, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
    assert doc["parameters"][0]["mean"] is None


def test_a_seed_beyond_64_bits_is_a_usage_error() -> None:
    result = run_netinspect(
        "init", str(CONFIGS / "mlp.yaml"), "--scheme", "zeros", "--seed", str(2**64)
    )
    assert result.code == 2
    assert "--seed" in result.err
    ok = run_netinspect(
        "init", str(CONFIGS / "mlp.yaml"), "--scheme", "zeros", "--seed", str(2**64 - 1)
    )
    assert ok.code == 0, ok.err


def test_type_takes_subclasses_as_isinstance_does(tmp_path: Path) -> None:
    spec = tmp_path / "mha.yaml"
    spec.write_text("model:\n  - MultiheadAttention: {embed_dim: 8, num_heads: 2}\n")
    with torch.device("meta"):
        out_proj = nn.MultiheadAttention(8, 2).out_proj
    assert isinstance(out_proj, nn.Linear)
    assert type(out_proj) is not nn.Linear  # NonDynamicallyQuantizableLinear
    result = run_netinspect("init", str(spec), "--scheme", "zeros", "--type", "Linear",
                            "--format", "json")  # fmt: skip
    assert result.code == 0, result.err
    schemes = {p["name"]: p["scheme"] for p in json.loads(result.out)["parameters"]}
    assert schemes["0.out_proj.weight"] == "zeros"
    assert schemes["0.in_proj_weight"] == "default"
    exact = run_netinspect("init", str(spec), "--scheme", "zeros", "--type", "=Linear")
    assert exact.code == 1
    assert "no parameter matches type '=Linear'" in exact.err


def test_a_rule_for_every_module_leaves_norm_layers_their_defaults(tmp_path: Path) -> None:
    spec = tmp_path / "m.yaml"
    spec.write_text("model:\n  - Linear: [8, 8]\n  - LayerNorm: 8\n  - BatchNorm1d: 8\n")
    out = tmp_path / "w.safetensors"
    result = run_netinspect(
        "init", str(spec), "--scheme", "normal:std=0.02", "--seed", "0", "--out", str(out),
        "--format", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    rows = {p["name"]: p for p in json.loads(result.out)["parameters"]}
    assert rows["0.weight"]["scheme"] == "normal(std=0.02)"
    for name in ("1.weight", "1.bias", "2.weight", "2.bias"):
        assert rows[name]["scheme"] == "default"
        assert "is a norm layer; name it with --type or --select" in rows[name]["note"]
    with safe_open(str(out), "pt") as f:
        assert torch.equal(f.get_tensor("1.weight"), torch.ones(8))  # LayerNorm's own init
        assert torch.equal(f.get_tensor("2.bias"), torch.zeros(8))
    named = run_netinspect("init", str(spec), "--scheme", "normal:std=0.02", "--type",
                           "LayerNorm", "--format", "json")  # fmt: skip
    rows = {p["name"]: p for p in json.loads(named.out)["parameters"]}
    assert rows["1.weight"]["scheme"] == "normal(std=0.02)"
    assert rows["1.bias"]["scheme"] == "zeros"


def test_scheme_default_is_the_layers_own_init_biases_included(tmp_path: Path) -> None:
    out = tmp_path / "w.safetensors"
    result = run_netinspect("init", str(CONFIGS / "mlp.yaml"), "--scheme", "default",
                            "--seed", "7", "--out", str(out))  # fmt: skip
    assert result.code == 0, result.err
    reference = seeded_reference("mlp", 7)
    with safe_open(str(out), "pt") as f:
        for name, p in reference.named_parameters():
            assert torch.equal(f.get_tensor(name), p.detach()), name
    zeros = run_netinspect("init", str(CONFIGS / "mlp.yaml"), "--scheme", "default",
                           "--bias", "zeros", "--format", "json")  # fmt: skip
    rows = {p["name"]: p for p in json.loads(zeros.out)["parameters"]}
    assert rows["0.bias"]["zeros"] == 1.0


def test_a_scheme_s_values_are_torch_s_own_chunk_by_chunk(tmp_path: Path) -> None:
    """Each chunk of 2^20 elements is torch.nn.init's scheme with that chunk's generator,
    the bound taken from the whole tensor: here a 2,097,152-element weight, two chunks."""
    from netinspect.randomness import CHUNK, generator

    spec = tmp_path / "wide.yaml"
    spec.write_text("model: [{Linear: [2048, 1024]}, {Linear: [1024, 3]}]\n")
    out = tmp_path / "w.safetensors"
    result = run_netinspect(
        "init", str(spec), "--scheme", "kaiming", "--seed", "3", "--out", str(out)
    )
    assert result.code == 0, result.err
    with safe_open(str(out), "pt") as f:
        big, small = f.get_tensor("0.weight"), f.get_tensor("1.weight")
    expected_small = nn.init.kaiming_uniform_(
        torch.empty(3, 1024), generator=generator(3, "1.weight", 0)
    )
    assert torch.equal(small, expected_small)
    bound = math.sqrt(3.0) * nn.init.calculate_gain("leaky_relu", 0) / math.sqrt(2048)
    chunks = [
        torch.empty(CHUNK).uniform_(-bound, bound, generator=generator(3, "0.weight", k))
        for k in range(2)
    ]
    assert torch.equal(big.reshape(-1), torch.cat(chunks))
    assert float(big.abs().max()) <= bound
