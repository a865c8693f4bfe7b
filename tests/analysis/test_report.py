"""The report's rows against torch: one per place of named_modules(), each block's
parameters as torch counts them, the treemap's areas adding up to the distinct total (ties
counted once), FLOPs as FlopCounterMode counts them, the memory plan as `memory` gives it."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import netinspect
from netinspect.analysis.report import rows
from netinspect.analysis.tensors import is_lazy
from netinspect.spec.model import Spec
from tests.conftest import CONFIG_NAMES, CONFIGS
from tests.reference import REFERENCES


def _spec(name: str) -> Spec:
    return netinspect.load(str(CONFIGS / f"{name}.yaml"))


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_a_row_per_place_with_torchs_counts(name: str) -> None:
    model = REFERENCES[name]()
    found = rows(model, name)
    places = list(model.named_modules(remove_duplicate=False))
    assert [r.path for r in found] == [path for path, _ in places]
    for row, (_, m) in zip(found, places, strict=True):
        assert row.type == type(m).__name__
        assert row.params == sum(p.numel() for p in m.parameters() if not is_lazy(p))
        if row.parent >= 0:
            assert row.path.startswith(found[row.parent].path)
            assert row.depth == found[row.parent].depth + 1
    distinct = sum(p.numel() for p in model.parameters() if not is_lazy(p))
    assert sum(r.own for r in found) == distinct == found[0].params


def test_ties_and_shared_modules_fill_the_map_once() -> None:
    tied = rows(REFERENCES["tiny_lm"](), "tiny_lm")
    head = next(r for r in tied if r.path == "head")
    assert (head.own, head.tied) == (0, ("weight = embed.weight",))
    assert next(r for r in tied if r.path == "embed").own == 1000 * 64
    shared = rows(REFERENCES["tied"](), "tied")
    second, fourth = (next(r for r in shared if r.path == p) for p in ("2", "4"))
    assert (second.own, fourth.own) == (72, 0)
    assert second.module == fourth.module
    assert (second.places, fourth.places, fourth.tied) == (2, 2, ())


@pytest.mark.parametrize("name", [n for n in CONFIG_NAMES if n != "huge"])
def test_flops_and_shapes_are_torchs(name: str) -> None:
    made = netinspect.report(_spec(name), memory=False)
    assert made.run is not None
    reference = REFERENCES[name]()
    (stated,) = _spec(name).inputs
    x = torch.zeros(stated.shape, dtype=getattr(torch, stated.dtype))
    with FlopCounterMode(display=False) as counter:
        out = reference(x)
    root = made.rows[0]
    assert root.flops == counter.get_total_flops()
    assert (root.input, root.output) == (tuple(x.shape), tuple(out.shape))
    assert made.memory is None
    assert made.memory_note == "not planned (--no-memory)"


def test_the_memory_plan_is_the_memory_commands() -> None:
    made = netinspect.report(_spec("tiny_lm"))
    planned = netinspect.plan_training(_spec("tiny_lm"))
    assert made.memory == planned
    assert made.memory_note is None


def test_without_an_input_the_report_says_what_is_missing() -> None:
    spec = _spec("mlp")
    made = netinspect.report(netinspect.load_string("model: [{Linear: [4, 2]}]", "x.yaml"))
    assert made.run is None
    assert made.memory is None
    assert made.memory_note == "no example input: give --input, or input: in the spec"
    assert [r.flops for r in made.rows] == [None, None]
    assert spec.inputs  # the configs have one; this spec has none


def test_lazy_layers_are_marked_shaped_or_not() -> None:
    shaped = netinspect.report(_spec("lazy_mlp"), memory=False)
    assert [r.path for r in shaped.rows if r.lazy] == ["0", "2"]
    assert shaped.params.uninitialized == 0
    spec = netinspect.load_string("model: [{LazyLinear: 4}, ReLU]", "lazy.yaml")
    unshaped = netinspect.report(spec)
    assert [r.path for r in unshaped.rows if r.lazy] == ["0"]
    assert unshaped.params.uninitialized == 2


def test_a_memory_plan_that_fails_is_a_note_and_the_rest_stands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from netinspect import api
    from netinspect.errors import ForwardError

    def fails(*args: object, **kwargs: object) -> None:
        raise ForwardError("the training step of tiny_lm failed on meta: RuntimeError: x")

    monkeypatch.setattr(api, "plan_training", fails)
    made = netinspect.report(_spec("tiny_lm"))
    assert made.memory is None
    assert made.memory_note == (
        "not planned: the training step of tiny_lm failed on meta: RuntimeError: x"
    )
    assert made.run is not None
    assert len(made.rows) == 15
