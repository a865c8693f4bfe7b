"""The analyses against torch: counts, totals, aliases and marks equal what torch reports."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from netinspect.analysis import params, tree
from netinspect.analysis.tensors import distinct_numel, is_lazy, tensor_key
from netinspect.analysis.tree import TreeNode
from tests.conftest import CONFIG_NAMES
from tests.reference import REFERENCES


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_params_rows_and_totals_equal_torch(name: str) -> None:
    model = REFERENCES[name]()
    report = params(model, name)
    named = list(model.named_parameters(remove_duplicate=False))
    assert [r.name for r in report.rows] == [n for n, _ in named]
    distinct = [p for p in model.parameters() if not is_lazy(p)]  # parameters() de-duplicates
    assert report.total == sum(p.numel() for p in distinct)
    assert report.trainable == sum(p.numel() for p in distinct if p.requires_grad)
    assert report.bytes == sum(p.numel() * p.element_size() for p in distinct)
    assert report.uninitialized == sum(1 for p in model.parameters() if is_lazy(p))
    for row, (_, p) in zip(report.rows, named, strict=False):
        if is_lazy(p):
            assert (row.shape, row.numel) == (None, None)
        else:
            assert row.shape == tuple(p.shape)
            assert row.numel == p.numel()


def test_tied_names_point_at_each_other() -> None:
    report = params(REFERENCES["tied"]())
    rows = {r.name: r for r in report.rows}
    assert rows["2.weight"].shared_with == ("4.weight",)
    assert rows["4.bias"].shared_with == ("2.bias",)
    assert rows["0.weight"].shared_with == ()
    # 0: 4*8+8, shared hidden once: 8*8+8, last: 8+1
    assert report.total == 40 + 72 + 9


def test_distinct_parameters_sharing_storage_count_as_tied() -> None:
    a = nn.Linear(3, 3)
    b = nn.Linear(3, 3)
    b.weight = nn.Parameter(a.weight.data)  # a different Parameter over the same memory
    model = nn.Sequential(a, b)
    assert model[0].weight is not model[1].weight
    report = params(model)
    rows = {r.name: r for r in report.rows}
    assert rows["1.weight"].shared_with == ("0.weight",)
    assert report.total == 9 + 3 + 3
    assert tensor_key(a.weight) == tensor_key(b.weight)
    assert tensor_key(a.weight) != tensor_key(a.bias)


def test_frozen_parameters_are_non_trainable() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 1))
    model[0].requires_grad_(False)
    report = params(model)
    assert (report.trainable, report.non_trainable) == (9, 40)
    assert [r.trainable for r in report.rows] == [False, False, True, True]


def test_filter_is_a_glob_and_totals_follow_it() -> None:
    report = params(REFERENCES["rgnet"](), pattern="0.block 1.*")
    assert [r.name for r in report.rows] == [
        "0.block 1.0.weight",
        "0.block 1.0.bias",
        "0.block 1.2.weight",
        "0.block 1.2.bias",
    ]
    assert report.total == 76
    (bias,) = params(REFERENCES["rgnet"](), pattern="0.block 1.0.bias").rows
    assert bias.shape == (8,)


def test_dtype_and_bytes_follow_the_parameters() -> None:
    model = nn.Sequential(nn.Linear(4, 8)).to(torch.float16)
    report = params(model)
    assert {r.dtype for r in report.rows} == {"float16"}
    assert report.bytes == 40 * 2


def walk(node: TreeNode) -> list[TreeNode]:
    return [node, *(n for c in node.children for n in walk(c))]


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_tree_matches_named_modules(name: str) -> None:
    model = REFERENCES[name]()
    report = tree(model, name)
    nodes = walk(report.root)
    modules = list(model.named_modules(remove_duplicate=False))
    assert [n.path for n in nodes] == [p for p, _ in modules]
    for node, (_, module) in zip(nodes, modules, strict=False):
        assert node.type == type(module).__name__
        assert node.args == module.extra_repr()
        assert node.params == sum(p.numel() for p in module.parameters() if not is_lazy(p))
    assert report.root.params == distinct_numel(model.parameters())


def test_tree_marks_shared_modules_everywhere_they_appear() -> None:
    nodes = {n.path: n for n in walk(tree(REFERENCES["tied"]()).root)}
    assert nodes["2"].shared
    assert nodes["4"].shared
    assert not nodes["0"].shared
    assert nodes[""].params == 121


def test_shared_module_twice_under_one_parent_shows_twice() -> None:
    relu = nn.ReLU()
    report = tree(nn.Sequential(relu, relu))
    assert [c.path for c in report.root.children] == ["0", "1"]


def test_tree_marks_lazy_layers() -> None:
    nodes = {n.path: n for n in walk(tree(REFERENCES["lazy_mlp"]()).root)}
    assert nodes["0"].lazy
    assert nodes["2"].lazy
    assert not nodes["1"].lazy
    assert not nodes[""].lazy


def test_tree_depth_cuts_and_counts_what_it_hides() -> None:
    report = tree(REFERENCES["rgnet"](), "rgnet", max_depth=1)
    first = report.root.children[0]
    assert first.children == ()
    assert first.hidden_children == 4
    assert first.params == 304
    assert tree(REFERENCES["rgnet"](), max_depth=0).root.hidden_children == 2


def test_a_tied_head_is_marked_and_the_repeats_are_counted() -> None:
    model = REFERENCES["tiny_lm"]()
    assert model.get_parameter("head.weight") is model.get_parameter("embed.weight")  # tied
    report = tree(model, "tiny_lm")
    head = next(c for c in report.root.children if c.name == "head")
    embed = next(c for c in report.root.children if c.name == "embed")
    assert head.tied == (("weight", "embed.weight"),)
    assert embed.tied == ()
    rows = sum(p.numel() for m in model.modules() for p in m.parameters(recurse=False))
    assert report.repeated == rows - sum(p.numel() for p in model.parameters()) == 64_000


def test_a_shared_module_is_marked_shared_not_tied() -> None:
    report = tree(REFERENCES["tied"](), "tied")
    assert [c.shared for c in report.root.children] == [
        False,
        False,
        True,
        False,
        True,
        False,
        False,
    ]
    assert all(c.tied == () for c in report.root.children)
    assert report.repeated == 72


def test_buffers_are_totalled_and_listed_on_request() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.BatchNorm1d(4))
    report = params(model, "bn")
    assert report.buffers == sum(b.numel() for b in model.buffers()) == 2 * (4 + 4 + 1)
    assert report.buffer_bytes == sum(b.numel() * b.element_size() for b in model.buffers())
    assert not any(r.buffer for r in report.rows)
    listed = params(model, "bn", with_buffers=True)
    buffer_rows = [(r.name, r.shape) for r in listed.rows if r.buffer]
    assert buffer_rows == [(n, tuple(b.shape)) for n, b in model.named_buffers()]
    assert listed.total == report.total  # buffers are not parameters


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_shares_add_up_to_the_whole(name: str) -> None:
    report = params(REFERENCES[name](), name)
    shares = [r.share for r in report.rows if r.share is not None]
    if report.total:
        assert sum(shares) == pytest.approx(1.0)
    counted = {tensor_key(p) for p in REFERENCES[name]().parameters() if not is_lazy(p)}
    assert len(shares) == len(counted) or not report.total


def test_a_resnet50_has_torchvisions_numbers_and_its_buffers() -> None:
    from tests.models.resnet import resnet50

    with torch.device("meta"):
        model = resnet50()
    report = params(model, "resnet50")
    assert (report.total, report.buffers) == (25_557_032, 53_173)
    assert report.buffers == sum(b.numel() for b in model.buffers())
    assert report.buffer_bytes == 53_120 * 4 + 53 * 8  # running stats, and int64 counters
