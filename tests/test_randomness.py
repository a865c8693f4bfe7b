"""The counter-based layout of init's random values: any split gives the same bits, and a
tensor of one chunk is exactly what ``torch.nn.init`` makes with that chunk's generator."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from netinspect import randomness
from netinspect.randomness import elementwise, fill_range, generator

SCHEMES = [
    ("normal_", {"mean": 0.5, "std": 0.02}),
    ("uniform_", {"a": -0.1, "b": 0.3}),
    ("trunc_normal_", {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0}),
    ("xavier_uniform_", {"gain": 1.5}),
    ("xavier_normal_", {"gain": 1.0}),
    ("kaiming_uniform_", {"a": 5**0.5, "mode": "fan_in", "nonlinearity": "leaky_relu"}),
    ("kaiming_normal_", {"a": 0, "mode": "fan_out", "nonlinearity": "relu"}),
    ("constant_", {"val": 0.25}),
    ("zeros_", {}),
    ("ones_", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), SCHEMES, ids=[s[0] for s in SCHEMES])
@pytest.mark.parametrize("shape", [(7, 13), (3, 4, 5, 2), (1000,)])
def test_one_chunk_is_torch_s_own_scheme_with_its_generator(
    name: str, kwargs: dict[str, object], shape: tuple[int, ...]
) -> None:
    if len(shape) < 2 and name.startswith(("xavier", "kaiming")):
        pytest.skip("a fan needs 2 dims")
    ours = torch.empty(shape)
    how = elementwise(name, kwargs, ours.shape)
    assert how is not None
    fill_range(ours, how, seed=7, name="layer.weight", start=0, total=ours.numel())
    theirs = torch.empty(shape)
    if name in ("constant_", "zeros_", "ones_"):
        getattr(nn.init, name)(theirs, **kwargs)
    else:
        getattr(nn.init, name)(theirs, **kwargs, generator=generator(7, "layer.weight", 0))
    assert torch.equal(ours, theirs)


def test_the_whole_shape_sets_the_bound_not_the_chunk_s() -> None:
    how = elementwise("kaiming_uniform_", {"a": 0, "mode": "fan_in"}, torch.Size([4, 3000]))
    assert how is not None
    out = torch.empty(1000)  # a range of a much larger tensor
    fill_range(out, how, seed=0, name="w", start=5000, total=12000)
    assert float(out.abs().max()) <= (3 / 3000) ** 0.5 * 2**0.5 + 1e-7


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    total=st.integers(1, 3 * 4096 + 5),
    scheme=st.sampled_from(SCHEMES[:5]),
)
def test_any_split_gives_the_same_bits(
    data: st.DataObject, total: int, scheme: tuple[str, dict[str, object]]
) -> None:
    name, kwargs = scheme
    shape = torch.Size([total, 1] if name.startswith(("xavier", "kaiming")) else [total])
    with pytest.MonkeyPatch.context() as patch:  # chunks of 4096: a split crosses several
        patch.setattr(randomness, "CHUNK", 4096)
        how = elementwise(name, kwargs, shape)
        assert how is not None
        whole = torch.empty(total)
        fill_range(whole, how, seed=3, name="p", start=0, total=total)
        cuts = sorted(data.draw(st.lists(st.integers(0, total), max_size=6)))
        pieces = []
        for start, stop in zip([0, *cuts], [*cuts, total], strict=True):
            piece = torch.empty(stop - start)
            fill_range(piece, how, seed=3, name="p", start=start, total=total)
            pieces.append(piece)
    assert torch.equal(torch.cat(pieces), whole)


def test_values_depend_on_seed_name_and_place_only() -> None:
    seeds = {randomness.stream_seed(s, n, k) for s in (0, 1) for n in ("a", "b") for k in (0, 1)}
    assert len(seeds) == 8
    assert randomness.stream_seed(0, "a", 0) == randomness.stream_seed(0, "a", 0) < 2**63


def test_a_scheme_that_needs_the_whole_tensor_has_no_elementwise_fill() -> None:
    for name in ("orthogonal_", "sparse_", "eye_", "dirac_"):
        assert elementwise(name, {}, torch.Size([4, 4])) is None
