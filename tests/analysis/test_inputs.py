"""Several inputs, by position and by keyword: from the command line and from a spec's
``input:``, through the pass, against torch run by hand on the same inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import netinspect
from netinspect.analysis.dryrun import Example, dry_run, example_inputs
from netinspect.cli.options import parse_input
from netinspect.errors import MetaValueError, OptionError, SpecError
from tests.conftest import run_netinspect


def torch_flops(model: nn.Module, *args: torch.Tensor, **kwargs: torch.Tensor) -> int:
    """FLOPs of one forward, in train mode with attention by its math backend: torch's
    fused encoder (eval without autograd) and cpu flash attention are operators
    FlopCounterMode cannot count (see dryrun._countable_paths)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with torch.no_grad(), sdpa_kernel([SDPBackend.MATH]), FlopCounterMode(display=False) as f:
        model.train()(*args, **kwargs)
    return int(f.get_total_flops())


def test_transformer_takes_src_and_tgt_by_position_and_by_keyword() -> None:
    torch.manual_seed(0)
    reference = nn.Transformer(
        d_model=32, nhead=4, num_encoder_layers=1, num_decoder_layers=1, dropout=0.0
    )
    expected = torch_flops(reference, torch.randn(10, 2, 32), torch.randn(7, 2, 32))
    target = "torch.nn:Transformer"
    by_position = run_netinspect(
        "dry-run", target, "--allow-import", "-i", "10x2x512", "-i", "7x2x512", "-f", "json"
    )
    by_keyword = run_netinspect(
        "dry-run", target, "--allow-import", "-i", "tgt=7x2x512", "-i", "10x2x512", "-f", "json"
    )
    assert by_position.code == by_keyword.code == 0, by_position.err + by_keyword.err
    doc, keyword_doc = json.loads(by_position.out), json.loads(by_keyword.out)
    assert doc["output"] == keyword_doc["output"] == [7, 2, 512]
    assert doc["flops"] == keyword_doc["flops"]
    assert doc["inputs"] == [
        {"name": None, "shape": [10, 2, 512], "dtype": "float32"},
        {"name": None, "shape": [7, 2, 512], "dtype": "float32"},
    ]
    assert keyword_doc["inputs"][1] == {"name": "tgt", "shape": [7, 2, 512], "dtype": "float32"}
    assert doc["input"] == [10, 2, 512]  # the first input, as before
    assert "Warning" not in by_position.err  # enable_nested_tensor's UserWarning stays quiet
    # The same pass in-process on a small Transformer counts what torch counts.
    with torch.device("meta"):
        small = nn.Transformer(d_model=32, nhead=4, num_encoder_layers=1, num_decoder_layers=1)
    example = Example((torch.empty(10, 2, 32, device="meta"), torch.empty(7, 2, 32, device="meta")))
    assert dry_run(small, example).flops == expected


class MaskedEncoder(nn.Module):
    """Reads its mask's values, as transformers' BERT does (``padding_mask.all()``)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 8)
        self.proj = nn.Linear(8, 8)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        x = self.embed(input_ids)
        if not bool(attention_mask.bool().all()):  # a padded batch takes a slower path
            x = x * attention_mask[..., None]
        out: torch.Tensor = self.proj(x)
        return out


def test_a_mask_is_ones_and_the_meta_pass_can_read_it() -> None:
    with torch.device("meta"):
        model = MaskedEncoder()
    typed = [("input_ids", (2, 6), torch.int64), ("attention_mask", (2, 6), torch.int64)]
    report = dry_run(model, example_inputs(typed, "meta", model))
    assert report.output == (2, 6, 8)
    assert [(i.name, i.shape, i.dtype) for i in report.inputs] == [
        ("input_ids", (2, 6), "int64"),
        ("attention_mask", (2, 6), "int64"),
    ]
    real = example_inputs(typed, "cpu", MaskedEncoder())
    assert torch.equal(real.kwargs["attention_mask"], torch.ones(2, 6, dtype=torch.int64))
    assert int(real.kwargs["input_ids"].max()) < 50  # valid indices of the embedding
    # Without a known value, a meta read fails as torch's does, with a hint that says why.
    unknown = Example(
        (),
        {
            "input_ids": torch.empty(2, 6, dtype=torch.int64, device="meta"),
            "attention_mask": torch.empty(2, 6, dtype=torch.int64, device="meta"),
        },
    )
    with pytest.raises(MetaValueError, match="reads the values of a tensor"):
        dry_run(model, unknown)


def test_known_values_cost_no_flops_and_no_planned_memory() -> None:
    with torch.device("meta"):
        model = MaskedEncoder()
    typed = [("input_ids", (2, 6), torch.int64), ("attention_mask", (2, 6), torch.int64)]
    expected = torch_flops(
        MaskedEncoder(), torch.zeros(2, 6, dtype=torch.int64), torch.ones(2, 6, dtype=torch.int64)
    )
    assert dry_run(model, example_inputs(typed, "meta", model)).flops == expected


SPEC_INPUTS: list[tuple[str, list[tuple[Any, tuple[int, ...], str]]]] = [
    ("[2, 4]", [(None, (2, 4), "float32")]),
    ("{shape: [2, 4], dtype: int64}", [(None, (2, 4), "int64")]),
    ("[[2, 4], [3, 5]]", [(None, (2, 4), "float32"), (None, (3, 5), "float32")]),
    (
        "[[2, 4], {shape: [2, 4], dtype: bool, name: mask}]",
        [(None, (2, 4), "float32"), ("mask", (2, 4), "bool")],
    ),
    (
        "{input_ids: {shape: [2, 9], dtype: int64}, attention_mask: [2, 9]}",
        [("input_ids", (2, 9), "int64"), ("attention_mask", (2, 9), "float32")],
    ),
]


@pytest.mark.parametrize(("text", "expected"), SPEC_INPUTS)
def test_spec_input_forms(text: str, expected: list[tuple[Any, tuple[int, ...], str]]) -> None:
    spec = netinspect.load_string(f"input: {text}\nmodel: [ReLU]\n", "s.yaml")
    assert [(i.name, i.shape, i.dtype) for i in spec.inputs] == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[{shape: [2], name: a}, [2]]", "a positional input follows a keyword input"),
        ("[{shape: [2], name: a}, {shape: [2], name: a}]", "the input 'a' is given twice"),
        ("{2x: [2]}", "an input's name is the name of a forward() argument"),
        ("{a: {shape: [2], name: b}}", "unknown key 'name' in input"),
        ("[[2], [0]]", "every size is a whole number"),
    ],
)
def test_bad_spec_inputs_are_located(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        netinspect.load_string(f"input: {text}\nmodel: [ReLU]\n", "s.yaml")
    assert info.value.location is not None
    assert info.value.location.line == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2x4", (None, (2, 4), "float32", False)),
        ("2x4:int64", (None, (2, 4), "int64", True)),
        ("attention_mask=2x16:int64", ("attention_mask", (2, 16), "int64", True)),
        ("tgt=[7, 2, 512]", ("tgt", (7, 2, 512), "float32", False)),
    ],
)
def test_command_line_inputs_parse(text: str, expected: tuple[Any, ...]) -> None:
    given = parse_input(text)
    assert (given.name, given.shape, given.dtype, given.dtype_given) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2x4:int65", "is not an input dtype"),
        ("2a=2x4", "is not an argument name"),
        ("x=", "is not a shape"),
    ],
)
def test_bad_command_line_inputs(text: str, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        parse_input(text)


def test_input_dtype_sets_every_input_without_its_own(tmp_path: Path) -> None:
    spec = netinspect.load_string(
        "input: {ids: {shape: [2, 3], dtype: int64}, extra: [2, 3]}\nmodel: [ReLU]\n", "s.yaml"
    )
    given = (parse_input("ids=4x3"), parse_input("extra=4x3:float64"))
    chosen = netinspect.choose_input(spec, given)
    assert [(i.name, i.dtype) for i in chosen] == [("ids", "int64"), ("extra", "float64")]
    chosen = netinspect.choose_input(spec, given, torch.int32)
    assert [(i.name, i.dtype) for i in chosen] == [("ids", "int32"), ("extra", "float64")]
    with pytest.raises(OptionError, match="the input 'ids' is given twice"):
        netinspect.choose_input(spec, (parse_input("ids=2x3"), parse_input("ids=2x3")))


TINY_MODELS = """
from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel


def bert():
    return BertModel(BertConfig(
        vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128,
    ))


def gpt2():
    return GPT2LMHeadModel(GPT2Config(vocab_size=1000, n_embd=64, n_layer=2, n_head=4))
"""


def _torch_truth(factory: str) -> tuple[int, int, list[int]]:
    """Parameters, FLOPs and output shape of the tiny model, by torch on cpu."""
    namespace: dict[str, Any] = {}
    exec(TINY_MODELS, namespace)
    model = namespace[factory]()
    ids = torch.randint(0, 1000, (2, 16))
    flops = torch_flops(model, input_ids=ids, attention_mask=torch.ones(2, 16).long())
    with torch.no_grad():
        output = list(model.eval()(input_ids=ids)[0].shape)
    return sum(p.numel() for p in model.parameters()), flops, output


IDS_AND_MASK = ("input_ids=2x16:int64", "attention_mask=2x16:int64")


def test_a_transformers_bert_dry_runs_through_the_command(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    (tmp_path / "tiny_models.py").write_text(TINY_MODELS)
    args = ["dry-run", "tiny_models:bert", "--allow-import", "-f", "json"]
    result = run_netinspect(*args, "-i", IDS_AND_MASK[0], "-i", IDS_AND_MASK[1], cwd=tmp_path)
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert [doc["total"], doc["flops"], doc["output"]] == list(_torch_truth("bert"))
    assert [i["name"] for i in doc["inputs"]] == ["input_ids", "attention_mask"]


@pytest.mark.parametrize(
    ("factory", "device"), [("bert", "cpu"), ("gpt2", "meta"), ("gpt2", "cpu")]
)
def test_transformers_models_take_ids_and_a_mask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, factory: str, device: str
) -> None:
    pytest.importorskip("transformers")
    (tmp_path / "tiny_models.py").write_text(TINY_MODELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    target = netinspect.python_target(f"tiny_models:{factory}", allow_import=True)
    inputs = netinspect.choose_input(target, [parse_input(text) for text in IDS_AND_MASK])
    report = netinspect.dry_run(target, inputs, device=device)
    total, flops, output = _torch_truth(factory)
    assert (report.total, report.flops, list(report.output or ())) == (total, flops, output)


SEQ2SEQ = """\
name: seq2seq
input:
  - [10, 2, 64]
  - {shape: [7, 2, 64], name: tgt}
model:
  Transformer: {d_model: 64, nhead: 4, num_encoder_layers: 1, num_decoder_layers: 1,
                dim_feedforward: 128}
"""


def test_a_spec_with_several_inputs_passes_them_all_to_its_first_layer(tmp_path: Path) -> None:
    spec = tmp_path / "seq2seq.yaml"
    spec.write_text(SEQ2SEQ)
    torch.manual_seed(0)
    reference = nn.Transformer(
        d_model=64,
        nhead=4,
        num_encoder_layers=1,
        num_decoder_layers=1,
        dim_feedforward=128,
        dropout=0.0,
    )
    expected = torch_flops(reference, torch.randn(10, 2, 64), tgt=torch.randn(7, 2, 64))
    for device in ("meta", "cpu"):
        result = run_netinspect("dry-run", str(spec), "--device", device, "-f", "json")
        assert result.code == 0, result.err
        doc = json.loads(result.out)
        assert doc["flops"] == expected
        assert doc["total"] == sum(p.numel() for p in reference.parameters())
        assert doc["output"] == [7, 2, 64]
        assert doc["layers"][0]["type"] == "Sequential"
    names = json.loads(run_netinspect("params", str(spec), "-f", "json").out)["parameters"]
    assert [row["name"] for row in names] == [f"0.{n}" for n, _ in reference.named_parameters()]
    shorter = run_netinspect("dry-run", str(spec), "-i", "5x2x64", "-i", "tgt=3x2x64")
    assert shorter.code == 0, shorter.err
    assert "Input: [5, 2, 64] float32, tgt=[3, 2, 64] float32 on meta" in shorter.out
