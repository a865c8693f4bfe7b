"""The diagram's structure against torch: every module drawn once, edges in the order torch
calls the leaves (forward hooks), the shapes torch gives, ties where the tensors are one."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
import torch
from torch import nn

import netinspect
from netinspect.analysis.dryrun import dry_run
from netinspect.analysis.graph import Cluster, Graph, GraphNode, graph
from netinspect.analysis.tensors import is_lazy
from tests.conftest import CONFIG_NAMES, CONFIGS
from tests.reference import REFERENCES


def _example(name: str) -> torch.Tensor:
    """The spec's own input, of its dtype (the models are small: they run on the cpu, lazy
    layers included, which meta would not leave lazy)."""
    (stated,) = netinspect.load(str(CONFIGS / f"{name}.yaml")).inputs
    return torch.zeros(stated.shape, dtype=getattr(torch, stated.dtype))


def _torch_calls(model: nn.Module, x: torch.Tensor) -> list[tuple[nn.Module, Any, Any]]:
    """Each leaf call in order, with its input and output shapes, as torch's hooks see it."""
    calls: list[tuple[nn.Module, Any, Any]] = []

    def hook(m: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        calls.append((m, tuple(args[0].shape), tuple(out.shape)))

    handles = [m.register_forward_hook(hook) for m in model.modules() if not m._modules]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return calls


def _by_id(g: Graph) -> dict[str, GraphNode]:
    return {node.id: node for node in g.nodes()}


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_every_leaf_is_drawn_once_at_its_first_place(name: str) -> None:
    model = REFERENCES[name]()
    g = graph(model, name)
    first: dict[int, str] = {}
    for path, m in model.named_modules(remove_duplicate=False):
        if not m._modules:
            first.setdefault(id(m), path)
    assert [node.path for node in g.nodes()] == list(first.values())
    places: dict[int, list[str]] = {}
    for path, m in model.named_modules(remove_duplicate=False):
        places.setdefault(id(m), []).append(path)
    by_path = dict(model.named_modules(remove_duplicate=False))
    for node in g.nodes():
        m = by_path[node.path]
        assert node.places == tuple(places[id(m)])
        assert node.type == type(m).__name__
        assert node.params == sum(p.numel() for p in m.parameters() if not is_lazy(p))


@pytest.mark.parametrize("name", [n for n in CONFIG_NAMES if n != "huge"])
def test_edges_follow_torch_call_order_and_nodes_carry_its_shapes(name: str) -> None:
    model = REFERENCES[name]()
    x = _example(name)
    run = dry_run(model, x, name)
    g = graph(model, name, run)
    calls = _torch_calls(model, x)
    node_of = {id(m): node.id for node in g.nodes() for m in [_module(model, node.path)]}
    chain = ["input", *(node_of[id(m)] for m, _, _ in calls), "output"]
    expected = list(dict.fromkeys(pairwise(chain)))
    assert [(e.source, e.target) for e in g.edges] == expected
    firsts: dict[int, tuple[Any, Any]] = {}
    for m, shape_in, shape_out in calls:
        firsts.setdefault(id(m), (shape_in, shape_out))
    for node in g.nodes():
        assert (node.input, node.output) == firsts[id(_module(model, node.path))]
    assert g.output == calls[-1][2]
    assert g.shaped


def _module(model: nn.Module, path: str) -> nn.Module:
    found: nn.Module = model.get_submodule(path) if path else model
    return found


def test_a_shared_module_is_one_node_the_data_passes_twice() -> None:
    g = graph(REFERENCES["tied"](), "tied")
    shared = [node for node in g.nodes() if node.shared]
    assert [(n.path, n.places) for n in shared] == [("2", ("2", "4"))]
    edges = [(e.source, e.target) for e in g.edges]
    hidden = shared[0].id
    assert sum(1 for a, b in edges if b == hidden) == 2  # from 1 (ReLU) and from 3 (ReLU)
    assert sum(1 for a, b in edges if a == hidden) == 2
    assert g.ties == ()  # one module: drawn once, nothing to link


def test_a_tied_head_is_linked_to_the_embedding() -> None:
    g = graph(REFERENCES["tiny_lm"](), "tiny_lm")
    nodes = _by_id(g)
    assert [(nodes[t.source].path, nodes[t.target].path, t.names) for t in g.ties] == [
        ("embed", "head", ("embed.weight", "head.weight"))
    ]


def test_depth_folds_blocks_into_one_node() -> None:
    model = REFERENCES["rgnet"]()
    g = graph(model, "rgnet", max_depth=1)
    assert [(n.path, n.type, n.folded) for n in g.nodes()] == [
        ("0", "Sequential", len(list(model[0].modules())) - 1),
        ("1", "Linear", 0),
    ]
    assert [(e.source, e.target) for e in g.edges] == [
        ("input", "n1"), ("n1", "n2"), ("n2", "output"),
    ]  # fmt: skip
    assert g.root.children
    assert all(not isinstance(c, Cluster) for c in g.root.children)
    deeper = graph(model, "rgnet", max_depth=2)
    blocks = [c for c in deeper.root.children if isinstance(c, Cluster)]
    assert [c.path for c in blocks] == ["0"]
    assert [n.path for n in deeper.nodes()] == [*(f"0.block {i}" for i in range(4)), "1"]


def test_a_forward_that_calls_its_layers_out_of_order_is_drawn_as_it_runs() -> None:
    class Backwards(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first = nn.Linear(3, 4)
            self.second = nn.Linear(5, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.first(self.second(x))
            return out

    model = Backwards()
    g = graph(model, "backwards", dry_run(model, torch.zeros(2, 5)))
    nodes = _by_id(g)
    assert [(nodes.get(e.source), nodes.get(e.target)) for e in g.edges][1][0] is not None
    order = [nodes[e.target].path for e in g.edges if e.target != "output"]
    assert order == ["second", "first"]
    no_run = graph(model, "backwards")  # the tree's order, without a run
    assert [nodes[e.target].path for e in no_run.edges if e.target != "output"] == [
        "first", "second",
    ]  # fmt: skip


def test_a_model_that_is_one_layer_is_one_node() -> None:
    g = graph(nn.Linear(2, 3), "one")
    assert [(n.path, n.type, n.params) for n in g.nodes()] == [("", "Linear", 9)]
    assert [(e.source, e.target) for e in g.edges] == [("input", "n1"), ("n1", "output")]


def test_lazy_layers_are_marked_until_a_run_shapes_them() -> None:
    spec = netinspect.load(str(CONFIGS / "lazy_mlp.yaml"))
    model = netinspect.build(spec)
    assert any(node.lazy for node in netinspect.graph(model).nodes())
    run = netinspect.example_run(model)
    assert run is not None
    assert not any(node.lazy for node in netinspect.graph(model, run).nodes())
