"""The spec model: name resolution, the one-key-mapping rules, repeats, blocks, validation.

These tests pass a small set of layer names, so they run without torch, as the spec does.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from netinspect.cli.options import parse_size
from netinspect.errors import LayerError, LimitError, Location, NetinspectError, OptionError
from netinspect.spec.loader import load_text
from netinspect.spec.model import (
    BlockUse,
    Child,
    LayerCall,
    Repeat,
    Sequence,
    SharedUse,
    Spec,
)
from netinspect.spec.parse import parse_spec
from netinspect.spec.structure import count_modules

LAYERS = {"Linear", "ReLU", "LazyLinear", "Conv2d", "LayerNorm", "Embedding", "Tanh"}


def parse(text: str) -> Spec:
    return parse_spec(load_text(text, "s.yaml"), "s", LAYERS)


def error(text: str) -> NetinspectError:
    with pytest.raises(NetinspectError) as err:
        parse(text)
    return err.value


def children(seq: object) -> list[Child | Repeat]:
    assert isinstance(seq, Sequence)
    return list(seq.items)


def call(item: Child | Repeat) -> LayerCall:
    assert isinstance(item, Child)
    assert isinstance(item.layer, LayerCall)
    return item.layer


def test_the_four_argument_forms() -> None:
    spec = parse(
        "model:\n"
        "  - ReLU\n"
        "  - Linear: [4, 8]\n"
        "  - Linear: {in_features: 4, out_features: 8, bias: false}\n"
        "  - LazyLinear: 256\n"
    )
    relu, positional, keywords, scalar = map(call, children(spec.model))
    assert (relu.cls_name, relu.args, relu.kwargs) == ("ReLU", (), ())
    assert positional.args == (4, 8)
    assert keywords.kwargs == (("in_features", 4), ("out_features", 8), ("bias", False))
    assert scalar.args == (256,)


def test_lists_become_tuples_for_kernel_sizes() -> None:
    spec = parse("model:\n  - Conv2d: {in_channels: 1, out_channels: 2, kernel_size: [3, 3]}\n")
    assert call(children(spec.model)[0]).kwargs[2] == ("kernel_size", (3, 3))


def test_named_mapping_keeps_file_order() -> None:
    spec = parse("model:\n  encoder: {Linear: [4, 8]}\n  act: ReLU\n  decoder: [Tanh]\n")
    items = children(spec.model)
    assert [i.name for i in items if isinstance(i, Child)] == ["encoder", "act", "decoder"]


def test_names_resolve_shared_then_blocks_then_torch() -> None:
    spec = parse(
        "shared:\n  Tanh: {Linear: [2, 2]}\n"
        "blocks:\n  Tanh: [ReLU]\n  ReLU: [Tanh]\n"
        "model: [Tanh, ReLU, Linear]\n"
    )
    first, second, third = (i.layer for i in children(spec.model) if isinstance(i, Child))
    assert first == SharedUse("Tanh", first.loc)
    assert second == BlockUse("ReLU", second.loc)
    assert isinstance(third, LayerCall)


def test_one_key_mapping_naming_a_layer_is_that_layer() -> None:
    spec = parse("model: {Linear: [4, 8]}\n")
    assert isinstance(spec.model, LayerCall)


def test_one_key_mapping_naming_nothing_known_is_a_named_child() -> None:
    spec = parse("model: {encoder: [ReLU]}\n")
    (child,) = children(spec.model)
    assert isinstance(child, Child)
    assert child.name == "encoder"


def test_misspelled_layer_in_a_list_suggests_the_right_one() -> None:
    err = error("model:\n  - Linaer: [8, 1]\n")
    assert isinstance(err, LayerError)
    assert "unknown layer 'Linaer'" in err.message
    assert err.hint is not None
    assert err.hint.startswith("Did you mean 'Linear'")
    assert err.location is not None
    assert (err.location.line, err.location.column) == (2, 5)


def test_misspelled_layer_as_whole_value_says_so() -> None:
    err = error("model: {Linaer: [8, 1]}\n")
    assert "looks like a misspelled layer name" in err.message
    assert err.hint is not None
    assert err.hint.startswith("Did you mean 'Linear'")


def test_known_layer_among_named_children_explains_the_mapping() -> None:
    err = error("model:\n  Linear: [4, 8]\n  ReLU: null\n")
    assert "read as the name of a child" in err.message
    assert err.location is not None
    assert err.location.line == 2


def test_case_slip_is_suggested() -> None:
    err = error("model: [relu]\n")
    assert err.hint is not None
    assert "'ReLU'" in err.hint


def test_import_paths_are_never_layers() -> None:
    for name in ("os:system", "os.system", "my_pkg.layers:MyBlock"):
        err = error(f"model: [{name!r}]\n")
        assert "looks like an import path" in err.message
        assert "never imports code" in err.message


def test_repeat_expands_in_place_with_names() -> None:
    spec = parse(
        "blocks:\n  b: [ReLU]\n"
        "model:\n  - Linear: [1, 1]\n  - repeat: 3\n    layer: b\n    name: 'block {i}'\n"
    )
    _, rep = children(spec.model)
    assert isinstance(rep, Repeat)
    assert list(rep.names(1)) == ["block 0", "block 1", "block 2"]
    unnamed = Repeat(3, rep.layer, None, rep.loc)
    assert list(unnamed.names(1)) == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("repeat", "message"),
    [
        ("-1", "whole number of copies"),
        ("2.5", "whole number of copies"),
        ("true", "whole number of copies"),
        ("'three'", "whole number of copies"),
    ],
)
def test_bad_repeat_counts(repeat: str, message: str) -> None:
    err = error(f"model:\n  - repeat: {repeat}\n    layer: ReLU\n")
    assert message in err.message
    assert err.location is not None
    assert err.location.line == 2


def test_repeat_name_without_index_would_collide() -> None:
    err = error("model:\n  - repeat: 2\n    layer: ReLU\n    name: block\n")
    assert "has no {i}" in err.message
    assert err.location is not None
    assert err.location.line == 4


@pytest.mark.parametrize("name", ["'{i.__class__}'", "'{j}'", "'{0}'", "'a.{i}'", "'{i'"])
def test_repeat_name_formats_allow_only_the_index(name: str) -> None:
    err = error(f"model:\n  - repeat: 2\n    layer: ReLU\n    name: {name}\n")
    assert "repeat name" in err.message


def test_repeat_needs_a_layer_and_known_keys() -> None:
    assert "needs a layer" in error("model:\n  - repeat: 2\n").message
    err = error("model:\n  - repeat: 2\n    layr: ReLU\n")
    assert "unknown key 'layr'" in err.message
    assert err.hint == "Did you mean 'layer'?"


def test_unknown_top_level_key_suggests() -> None:
    err = error("model: [ReLU]\nblock:\n  a: [ReLU]\n")
    assert "unknown key 'block'" in err.message
    assert err.hint is not None
    assert "'blocks'" in err.hint
    assert err.location is not None
    assert err.location.line == 2


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("", "the spec is empty", 1),
        ("- ReLU\n", "expected a mapping with a model: key", 1),
        ("name: x\n", "has no model: key", 1),
        ("version: 2\nmodel: [ReLU]\n", "unsupported spec version 2;", 1),
        ("dtype: float8\nmodel: [ReLU]\n", "unsupported dtype", 1),
        ("input: [2, 0]\nmodel: [ReLU]\n", "whole number ≥ 1", 1),
        ("input: {shape: [2], dtype: complex}\nmodel: [ReLU]\n", "unsupported input dtype", 1),
        ("model:\n  - 8\n", "expected a layer", 2),
        ("model:\n  - Linear: {in_features: {a: 1}}\n", "got a mapping", 2),
        ("blocks:\n  b: [ReLU]\nmodel:\n  - b: 3\n", "block 'b' takes no arguments", 4),
        ("model:\n  'a.b': ReLU\n", "cannot contain '.'", 2),
        ("ties: [[a]]\nmodel: [ReLU]\n", "two or more parameter names", 1),
    ],
)
def test_structural_errors_are_located(text: str, message: str, line: int) -> None:
    err = error(text)
    assert message in err.message
    assert err.location is not None
    assert err.location.line == line


def test_block_cycles_direct_and_indirect() -> None:
    err = error("blocks:\n  a: [ReLU, a]\nmodel: [a]\n")
    assert "contains itself (a → a)" in err.message
    err = error("blocks:\n  a: [b]\n  b: [c]\n  c: [a]\nmodel: [a]\n")
    assert "contains itself (a → b → c → a)" in err.message
    assert err.location is not None
    assert err.location.line == 4
    err = error("shared:\n  s: [s]\nmodel: [s]\n")
    assert "shared 's' contains itself" in err.message


def test_input_forms() -> None:
    (one,) = parse("input: [2, 4]\nmodel: [ReLU]\n").inputs
    assert (one.shape, one.dtype, one.name) == ((2, 4), "float32", None)
    (one,) = parse("input: {shape: [3, 7], dtype: int64}\nmodel: [ReLU]\n").inputs
    assert (one.shape, one.dtype) == ((3, 7), "int64")


def test_init_rules_parse_and_check_scheme_names() -> None:
    spec = parse(
        "model: [ReLU]\ninit:\n"
        "  - match: {type: Linear}\n    weight: {normal: {mean: 0, std: 0.01}}\n    bias: zeros\n"
        "  - match: {path: '2'}\n    weight: {constant: 42}\n"
    )
    first, second = spec.init
    assert first.match_type == "Linear"
    assert first.weight is not None
    assert first.weight.kwargs == (("mean", 0), ("std", 0.01))
    assert first.bias is not None
    assert first.bias.name == "zeros"
    assert second.match_path == "2"
    assert second.weight is not None
    assert second.weight.args == (42,)
    err = error("model: [ReLU]\ninit:\n  - weight: xavir\n")
    assert "unknown init scheme 'xavir'" in err.message
    assert err.hint is not None
    assert "'xavier'" in err.hint


def test_count_modules_counts_without_building() -> None:
    spec = parse(
        "blocks:\n  b: [Linear, ReLU]\n"
        "model:\n  - repeat: 100000000\n    layer:\n      - repeat: 100000000\n        layer: b\n"
    )
    # root + outer copies * (inner sequence + inner copies * (block sequence + 2 leaves))
    assert count_modules(spec) == 1 + 10**8 * (1 + 10**8 * 3)


def test_spec_and_loader_never_import_torch() -> None:
    code = (
        "import sys, netinspect.spec.model, netinspect.spec.loader, netinspect.errors;"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("8GB", 8 * 10**9),
        ("512MiB", 512 * 2**20),
        ("1.5 TB", 15 * 10**11),
        ("100", 100),
        ("2kb", 2000),
    ],
)
def test_sizes_parse(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "8 GiGs", "-1GB", "GB"])
def test_bad_sizes_are_option_errors(text: str) -> None:
    with pytest.raises(OptionError, match="is not a size"):
        parse_size(text)


# -- untrusted specs -----------------------------------------------------------------------
@pytest.mark.parametrize("version", ["1.0", "true", "'1'"])
def test_the_version_is_the_whole_number_1(version: str) -> None:
    err = error(f"version: {version}\nmodel: [ReLU]\n")
    assert "unsupported spec version" in err.message
    assert err.location == Location("s.yaml", 1, 10)


@pytest.mark.parametrize(
    ("name", "char"),
    [
        ('"a\\nb"', "U+000A"),
        ('"red\\e[31m"', "U+001B"),
        ('"evil\\u202Eabc"', "U+202E"),  # a bidirectional override reverses what follows
        ('"zero\\u200Bwidth"', "U+200B"),
        ('"tab\\tname"', "U+0009"),
    ],
)
def test_names_are_plain_visible_text(name: str, char: str) -> None:
    for text in (
        f"model:\n  {name}: ReLU\n",
        f"name: {name}\nmodel: [ReLU]\n",
        f"blocks:\n  {name}: [ReLU]\nmodel: [ReLU]\n",
    ):
        err = error(text)
        assert char in err.message
        assert err.location is not None
        assert err.location.line is not None


def test_names_are_at_most_256_characters() -> None:
    assert parse(f"model:\n  {'n' * 256}: ReLU\n")
    err = error(f"model:\n  {'n' * 257}: ReLU\n")
    assert "257 characters long; names have at most 256" in err.message
    assert err.location == Location("s.yaml", 2, 3)


@pytest.mark.parametrize(
    "fmt",
    ["{i:>1500000000}", "{i:{i}}", "{i:.999}", "{i:\x1b>5}", "x{i:0>99}" + "y" * 200],
)
def test_repeat_name_formats_cannot_build_huge_or_unprintable_names(fmt: str) -> None:
    err = error(f"model:\n  - repeat: 2\n    layer: ReLU\n    name: {json.dumps(fmt)}\n")
    assert err.location == Location("s.yaml", 4, 11)


@pytest.mark.parametrize("fmt", ["{i}", "{i:02d}", "{i:>3}", "layer {i:x}", "{i:_}"])
def test_plain_repeat_name_formats_work(fmt: str) -> None:
    spec = parse(f"model:\n  - repeat: 12\n    layer: ReLU\n    name: '{fmt}'\n")
    repeat = children(spec.model)[0]
    assert isinstance(repeat, Repeat)
    assert list(repeat.names(0))[11] == fmt.format(i=11)


@pytest.mark.parametrize("scheme", ["evilmod:f", "torch:save", "os.path:join", "a.b"])
def test_init_rules_in_a_spec_never_name_python(scheme: str) -> None:
    for rule in (f"weight: {scheme!r}", f"bias: {{{scheme!r}: {{f: /tmp/x}}}}"):
        err = error(f"model: [{{Linear: [2, 2]}}]\ninit:\n  - {rule}\n")
        assert "built-in schemes only" in err.message
        assert f"--scheme {scheme} --allow-import" in err.full_message
        assert err.location is not None
        assert err.location.line == 3


def chain(length: int, leaf: str = "ReLU") -> str:
    lines = ["blocks:"] + [f"  b{i}: [b{i + 1}]" for i in range(length)]
    return "\n".join([*lines, f"  b{length}: [{leaf}]", "model: [b0]", ""])


def test_a_chain_of_blocks_deeper_than_the_limit_is_refused_where_it_starts() -> None:
    err = error(chain(400))
    assert isinstance(err, LimitError)
    assert "nests 403 modules deep through its blocks (b0 → b1 → b2 → … → b399 → b400)" in (
        err.message
    )
    assert err.location == Location("s.yaml", 403, 9)


def test_a_chain_within_the_limit_is_fine() -> None:
    assert parse(chain(97))  # 1 (model) + 98 blocks + 1 (ReLU) = 100 levels
    assert isinstance(error(chain(98)), LimitError)
    spec = parse_spec(load_text(chain(400), "s.yaml"), "s", LAYERS, max_depth=403)
    assert count_modules(spec) == 403


def test_a_long_cycle_is_found_without_recursion() -> None:
    text = chain(5000).replace("b5000: [ReLU]", "b5000: [b0]")
    with pytest.raises(NetinspectError, match="contains itself"):
        parse_spec(load_text(text, "s.yaml", max_nodes=10**6), "s", LAYERS)
