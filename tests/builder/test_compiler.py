"""The compiler against torch itself: every config builds exactly the hand-written network."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netinspect
from netinspect.builder.compiler import DEFAULT_MAX_MODULES, compile_spec
from netinspect.errors import LayerError, LimitError, SpecError
from netinspect.limits import Limits
from tests.conftest import CONFIG_NAMES, CONFIGS, sequential
from tests.reference import REFERENCES


def build(name: str) -> nn.Sequential:
    return sequential(netinspect.build(netinspect.load(str(CONFIGS / f"{name}.yaml"))).module)


def compile_text(text: str, **kwargs: object) -> nn.Sequential:
    spec = netinspect.load_string(text, "c.yaml")
    return sequential(compile_spec(spec, **kwargs).module)  # type: ignore[arg-type]


def shape_of(p: torch.Tensor) -> tuple[int, ...] | None:
    return None if nn.parameter.is_lazy(p) else tuple(p.shape)


def identity_groups(model: nn.Module) -> list[list[str]]:
    groups: dict[int, list[str]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(p), []).append(name)
    return sorted(g for g in groups.values() if len(g) > 1)


def test_every_config_has_a_reference() -> None:
    assert sorted(REFERENCES) == CONFIG_NAMES


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_config_builds_the_hand_written_network(name: str) -> None:
    ours, theirs = build(name), REFERENCES[name]()
    assert repr(ours) == repr(theirs)  # what print(model) shows, class and arguments
    ours_params = [
        (n, type(p), shape_of(p)) for n, p in ours.named_parameters(remove_duplicate=False)
    ]
    theirs_params = [
        (n, type(p), shape_of(p)) for n, p in theirs.named_parameters(remove_duplicate=False)
    ]
    assert ours_params == theirs_params
    assert identity_groups(ours) == identity_groups(theirs)
    assert [n for n, _ in ours.named_modules(remove_duplicate=False)] == [
        n for n, _ in theirs.named_modules(remove_duplicate=False)
    ]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_config_allocates_nothing(name: str) -> None:
    model = build(name)
    assert all(p.device.type == "meta" for p in model.parameters())
    assert all(b.device.type == "meta" for b in model.buffers())


def test_mlp_and_nested_block_shapes() -> None:
    mlp = dict(build("mlp").named_parameters())
    assert {n: list(p.shape) for n, p in mlp.items()} == {
        "0.weight": [8, 4],
        "0.bias": [8],
        "2.weight": [1, 8],
        "2.bias": [1],
    }
    rgnet = dict(build("rgnet").named_parameters())
    assert list(rgnet["0.block 1.0.bias"].shape) == [8]


def test_blocks_are_fresh_copies_and_shared_is_one_instance() -> None:
    rgnet = build("rgnet")
    copies = [rgnet.get_submodule(f"0.block {i}") for i in range(4)]
    assert len({id(c) for c in copies}) == 4
    tied = build("tied")
    assert tied[2] is tied[4]


def test_ties_make_one_parameter() -> None:
    lm = build("tiny_lm")
    assert lm.get_parameter("head.weight") is lm.get_parameter("embed.weight")


def test_tie_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(SpecError) as err:
        compile_text(
            "model:\n  a: {Linear: [4, 8]}\n  b: {Linear: [8, 4]}\n"
            "ties:\n  - [a.weight, b.weight]\n"
        )
    assert "cannot tie b.weight [4, 8] float32 to a.weight [8, 4] float32" in err.value.message
    assert err.value.location is not None
    assert err.value.location.line == 5


def test_tie_to_a_missing_parameter_suggests() -> None:
    with pytest.raises(SpecError) as err:
        compile_text(
            "model:\n  a: {Linear: [4, 4]}\n  b: {Linear: [4, 4]}\n"
            "ties:\n  - [a.weight, b.wieght]\n"
        )
    assert "no parameter 'b.wieght'" in err.value.message
    assert err.value.hint is not None
    assert "'b.weight'" in err.value.hint


def test_dtype_applies_to_every_parameter_and_keeps_ties() -> None:
    model = compile_text(
        "dtype: bfloat16\nmodel:\n  e: {Embedding: [10, 4]}\n  h: {Linear: [4, 10, false]}\n"
        "ties:\n  - [e.weight, h.weight]\n"
    )
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert model.get_parameter("h.weight") is model.get_parameter("e.weight")


def test_one_layer_model_is_wrapped_in_a_sequential() -> None:
    model = compile_text("model: ReLU\n")
    assert repr(model) == repr(nn.Sequential(nn.ReLU()))


def test_repeat_default_names_follow_position() -> None:
    model = compile_text("model:\n  - Linear: [2, 2]\n  - repeat: 2\n    layer: ReLU\n  - Tanh\n")
    assert [n for n, _ in model.named_children()] == ["0", "1", "2", "3"]


def test_repeat_as_a_named_child_is_a_sequence_of_copies() -> None:
    model = compile_text("model:\n  stage: {repeat: 3, layer: ReLU}\n")
    assert [n for n, _ in model.named_modules()] == ["", "stage", "stage.0", "stage.1", "stage.2"]


def test_colliding_child_names_are_an_error() -> None:
    with pytest.raises(SpecError, match="both named '0'"):
        compile_text("model:\n  - ReLU\n  - repeat: 2\n    layer: ReLU\n    name: '{i}'\n")


def test_module_cap_fails_before_building() -> None:
    with pytest.raises(LimitError) as err:
        compile_text("model:\n  - repeat: 100000000\n    layer: ReLU\n")
    assert "100,000,001 modules, more than the limit of 50,000" in err.value.message
    assert err.value.hint is not None
    assert "--max-modules" in err.value.hint
    model = compile_text("model:\n  - repeat: 5\n    layer: ReLU\n", limits=Limits(max_modules=6))
    assert len(model) == 5


def test_cli_default_module_cap_matches_the_compiler() -> None:
    import inspect

    from netinspect.cli import options

    for group in (options.limits, options.run_limits):
        assert inspect.signature(group).parameters["max_modules"].default == DEFAULT_MAX_MODULES


def test_seventy_billion_parameters_compile_on_meta() -> None:
    spec = (
        "blocks:\n  layer:\n    - LayerNorm: 8192\n    - Linear: [8192, 24576]\n"
        "    - Linear: [24576, 8192]\n    - Linear: [8192, 32768]\n    - Linear: [32768, 8192]\n"
        "model:\n  - repeat: 80\n    layer: layer\n"
    )
    model = compile_text(spec)
    total = sum(p.numel() for p in model.parameters())
    per_layer = 2 * 8192 + 2 * (8192 * 24576) + 24576 + 8192 + 2 * (8192 * 32768) + 32768 + 8192
    assert total == 80 * per_layer
    assert total > 70e9
    assert all(p.device.type == "meta" for p in model.parameters())


def test_compiling_twice_gives_independent_models() -> None:
    spec = netinspect.load(str(CONFIGS / "tied.yaml"))
    a, b = sequential(netinspect.build(spec).module), sequential(netinspect.build(spec).module)
    assert a[2] is not b[2]


def test_origins_point_at_the_spec() -> None:
    compiled = netinspect.build(netinspect.load(str(CONFIGS / "mlp.yaml")))
    loc = compiled.origin(sequential(compiled.module)[2])
    assert loc is not None
    assert loc.line == 8


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ("Linear: [4]", "missing a required argument: 'out_features'"),
        ("Linear: [4, 8, true, 1, 2, 3]", "too many positional arguments"),
        ("Linear: {in_features: 4, out_feature: 8}", "Linear has no argument 'out_feature'"),
        ("Linear: [4.5, 8]", "in_features must be a whole number, got 4.5"),
        ("Linear: [4, 8, 'yes']", "bias must be true or false"),
        ("Linear: [-4, 8]", "in_features must be a size of at least 1, got -4"),
        ("Linear: [4, 8, true, 1]", "too many positional arguments for Linear: it takes at most 3"),
        (
            "Conv2d: {in_channels: 3, out_channels: 4, kernel_size: 3, groups: 2}",
            "cannot be built: in_channels must be divisible by groups",
        ),
        ("Linear: {in_features: 4, out_features: 8, dtype: float16}", "cannot be set in a spec"),
        (
            "Conv2d: {in_channels: 1, out_channels: 1, kernel_size: 3, padding_mode: mirror}",
            "padding_mode must be one of",
        ),
    ],
)
def test_constructor_argument_errors_show_the_signature(layer: str, message: str) -> None:
    with pytest.raises(LayerError) as err:
        compile_text(f"name: x\nmodel:\n  - ReLU\n  - {layer}\n")
    assert message in str(err.value)
    assert err.value.location is not None
    assert err.value.location.line == 4
    if "dtype" not in layer:
        assert "signature is" in err.value.message


def _layout(model: nn.Module) -> tuple[object, ...]:
    named = list(model.named_parameters(remove_duplicate=False))
    buffers = [(n, shape_of(b), b.dtype) for n, b in model.named_buffers()]
    params = [(n, shape_of(p), p.dtype, p.requires_grad, type(p)) for n, p in named]
    distinct = len({id(t) for t in (*model.parameters(), *model.buffers())})
    return repr(model), params, buffers, identity_groups(model), distinct


COPY_CASES = [
    *(f"@{name}" for name in CONFIG_NAMES if name != "huge"),
    # shared layers, ties, a dtype, one call spelled two ways, lazy and buffered layers
    "dtype: bfloat16\nshared:\n  proj: {Linear: [4, 4]}\nmodel:\n"
    "  - repeat: 3\n    layer: [{Linear: [4, 4]}, proj, {LayerNorm: 4}, {BatchNorm1d: 4}]\n"
    "  - {Linear: {in_features: 4, out_features: 4}}\n  - {LazyLinear: 2}\n  - {LazyLinear: 2}\n"
    "ties:\n  - ['0.0.weight', '2.0.weight']\n",
]


@pytest.mark.parametrize("case", COPY_CASES)
def test_copied_layers_build_the_same_model_as_constructed_ones(case: str) -> None:
    text = (CONFIGS / f"{case[1:]}.yaml").read_text() if case.startswith("@") else case
    spec = netinspect.load_string(text, "c.yaml")
    copied = compile_spec(spec).module
    constructed = compile_spec(spec, copy_layers=False).module
    assert _layout(copied) == _layout(constructed)


# -- what torch really builds --------------------------------------------------------------
@pytest.mark.parametrize(
    ("layer", "what"),
    [
        ("{LSTM: {input_size: 8, hidden_size: 8, num_layers: 200000}}", "800,000 tensors"),
        (
            "{Transformer: {d_model: 8, nhead: 2, num_encoder_layers: 20000, "
            "num_decoder_layers: 1, dim_feedforward: 8}}",
            "200,021 modules",
        ),
    ],
)
def test_one_layer_that_builds_too_much_is_refused_before_it_is_built(
    layer: str, what: str
) -> None:
    with pytest.raises(LimitError) as err:
        compile_text(f"model:\n  - {layer}\n")
    assert f"alone builds {what}, more than the limit" in err.value.message
    assert err.value.location is not None
    assert (err.value.location.line, err.value.location.column) == (2, 6)


def test_the_tensor_limit_counts_every_repeat() -> None:
    lstm = "{LSTM: {input_size: 2, hidden_size: 2, num_layers: 3}}"
    text = f"model:\n  - repeat: 30\n    layer: {lstm}\n"
    assert len(compile_text(text, limits=Limits(max_tensors=360))) == 30
    with pytest.raises(LimitError, match="expands to 360 tensors"):
        compile_text(text, limits=Limits(max_tensors=359))
    with pytest.raises(LimitError, match="expands to 31 modules"):
        compile_text(text, limits=Limits(max_modules=30))


@pytest.mark.parametrize("name", ["training", "forward", "_modules", "append", "T_destination"])
def test_child_names_torch_modules_use_are_located_errors(name: str) -> None:
    with pytest.raises(SpecError, match=f"the child name '{name}' is taken") as err:
        compile_text(f"model:\n  a: ReLU\n  {name}: ReLU\n")
    assert err.value.location is not None
    assert err.value.location.line == 3


def test_ties_follow_a_shared_module_to_all_its_names() -> None:
    text = (
        "shared:\n  s: {Linear: [2, 2]}\n"
        "model:\n  a: {Linear: [2, 2]}\n  b: s\n  c: s\n"
        "ties:\n  - [a.weight, b.weight]\n  - [c.weight, a.bias]\n"
    )
    with pytest.raises(SpecError, match=r"cannot tie a\.bias"):
        compile_text(text)  # c.weight is a.weight now: [2, 2], not a.bias's [2]
    model = compile_text(text.replace(", a.bias]", ", b.weight]"))
    weights = {id(m.weight) for m in model if isinstance(m, nn.Linear)}
    assert len(weights) == 1


def test_many_ties_give_torch_s_groups() -> None:
    n = 2000
    text = "model:\n" + "".join(f"  l{i}: {{Linear: [2, 2]}}\n" for i in range(n))
    text += "ties:\n" + "".join(f"  - [l0.weight, l{i}.weight]\n" for i in range(1, n))
    model = compile_text(text)
    assert len({id(m.weight) for m in model}) == 1
    assert len({id(m.bias) for m in model}) == n
