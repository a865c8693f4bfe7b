"""``init --out DIR/``: a checkpoint written without the model ever whole in memory.

Planned on meta first: every stored tensor (each tied one once, under its first name), its
final scheme, and how its values are made; then the shards (``weights.writer``). Then each
tensor is made and written in turn, in one of two ways:

- **chunk by chunk**, for a tensor whose scheme is elementwise (``randomness``): a chunk of
  2^20 elements is made, measured and written, then dropped. Nothing bigger is in memory.
- **with its layer**, for anything else (a layer's own default, ``orthogonal``, a buffer):
  the spec's layer call that made the tensor is built for real on the cpu under its own
  seed, as ``init`` builds it for one file, the rules applied to it, its tensors written,
  and the layer dropped when the next tensor belongs to another.

Both make exactly the values ``init --out FILE`` makes for the same seed (a test holds
every tensor of both to each other), and the statistics are the same: they are measured
in the same blocks. Peak memory is the interpreter and the largest of those units (a
chunk, or one layer), whatever the size of the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from netinspect.analysis.init import (
    InitReport,
    Moments,
    ParamInit,
    Rule,
    Scheme,
    _apply,
    _misfit,
    measured,
    plan,
)
from netinspect.analysis.tensors import alias_groups
from netinspect.builder.compiler import CompiledModel
from netinspect.builder.registry import build_layer
from netinspect.dtypes import dtype_name, torch_dtype
from netinspect.errors import Location
from netinspect.randomness import CHUNK, Elementwise, elementwise, fill_range, stream_seed
from netinspect.weights.writer import Bytes, Entry, Shard, plan_shards

_DEFAULT = Scheme("default", None, {})


@dataclass(frozen=True)
class Unit:
    """One stored tensor and how its values are made."""

    entry: Entry
    names: tuple[str, ...]  # every name of the tensor; the first is the stored one
    parameter: bool  # a parameter (in the report), not a buffer
    scheme: Scheme
    where: Location
    chunked: Elementwise | None  # made chunk by chunk; None: with its layer
    layer: str  # the path of the spec's layer call that built it
    local: str  # its name within that layer


@dataclass(frozen=True)
class StreamPlan:
    units: tuple[Unit, ...]
    shards: tuple[Shard, ...]
    ties: dict[str, str]  # a tied name -> the name it is stored under
    largest_unit: int  # bytes of values in memory at once, at most
    total: int  # bytes of data in all shards
    disk_free: int = 0  # where it goes, when planned

    @property
    def layer_units(self) -> int:
        return sum(u.chunked is None for u in self.units)


def plan_stream(model: CompiledModel, rules: list[Rule], shard_size: int) -> StreamPlan:
    """What streaming ``model`` (built on meta) to disk takes, before anything is made."""
    module = model.module
    chosen = plan(module, rules)
    params = {id(p) for p in module.parameters()}
    units = []
    ties: dict[str, str] = {}
    for names, tensor in alias_groups(module.state_dict(keep_vars=True).items()):
        _, _, scheme, where = chosen.get(
            id(tensor), (names[0], tensor, _DEFAULT, Location("--scheme"))
        )
        how = None
        if scheme.func is not None and scheme.torch_name and not _misfit(scheme, tensor):
            how = elementwise(scheme.torch_name, scheme.resolved, tensor.shape)
        layer, local = model.made_by[id(tensor)]
        entry = Entry(names[0], dtype_name(tensor.dtype), tuple(tensor.shape))
        units.append(
            Unit(entry, tuple(names), id(tensor) in params, scheme, where, how, layer, local)
        )
        ties.update(dict.fromkeys(names[1:], names[0]))
    shards = tuple(plan_shards([u.entry for u in units], shard_size))
    return StreamPlan(
        tuple(units), shards, ties, _largest(model, units), sum(s.nbytes for s in shards)
    )


def _largest(model: CompiledModel, units: list[Unit]) -> int:
    """A chunk's bytes, or the largest layer built for real (all its tensors), at most."""
    chunk = max(
        (
            min(u.entry.numel, CHUNK) * u.entry.nbytes // max(u.entry.numel, 1)
            for u in units
            if u.chunked
        ),
        default=0,
    )
    layers = {u.layer for u in units if u.chunked is None}
    sizes = [
        sum(t.numel() * t.element_size() for t in _tensors(model.module.get_submodule(path)))
        for path in layers
    ]
    return max([chunk, *sizes])


def _tensors(module: nn.Module) -> list[torch.Tensor]:
    return [*module.parameters(), *module.buffers()]


@dataclass
class _Maker:
    """Makes each unit's bytes in turn, measuring parameters as they pass."""

    model: CompiledModel
    seed: int
    rows: dict[str, ParamInit] = field(default_factory=dict)
    built: tuple[str, nn.Module] | None = None  # the one layer in memory

    def data(self, unit: Unit) -> Iterator[Bytes]:
        moments = Moments()
        meta = torch.empty(unit.entry.shape, device="meta")
        if unit.chunked is not None:
            yield from self._chunks(unit, unit.chunked, moments)
            note = ""
        else:
            tensor, note = self._with_layer(unit)
            if unit.parameter:
                moments.add(_measurable(tensor).reshape(-1))
            yield _raw(tensor)
        if unit.parameter:
            self.rows[unit.names[0]] = measured(
                unit.names[0], meta, moments.result(), unit.scheme, note
            )

    def _chunks(self, unit: Unit, how: Elementwise, moments: Moments) -> Iterator[Bytes]:
        dtype = torch_dtype(unit.entry.dtype)
        total = unit.entry.numel
        for start in range(0, total, CHUNK):
            out = torch.empty(min(CHUNK, total - start), dtype=dtype)
            fill_range(out, how, seed=self.seed, name=unit.names[0], start=start, total=total)
            if unit.parameter:
                moments.add(_measurable(out))
            yield _raw(out)

    def _with_layer(self, unit: Unit) -> tuple[torch.Tensor, str]:
        if self.built is None or self.built[0] != unit.layer:
            self.built = None  # the layer before goes first
            self.built = (unit.layer, self._build(unit.layer))
        layer = self.built[1]
        found = {**dict(layer.named_parameters()), **dict(layer.named_buffers())}
        tensor = found[unit.local]
        note = (
            _apply(unit.scheme, tensor, unit.names[0], unit.where, self.seed)
            if unit.parameter
            else ""
        )
        return tensor, note

    def _build(self, path: str) -> nn.Module:
        """The layer at ``path`` as ``init`` builds it for one file: on the cpu, its own
        default init under its own seed, in the spec's dtype."""
        call = self.model.layers[path]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(stream_seed(self.seed, path, "default"))
            layer = build_layer(call, torch.device("cpu"))
        spec = self.model.spec
        if spec is not None and spec.dtype != "float32":
            layer.to(dtype=torch_dtype(spec.dtype))
        return layer


def _measurable(t: torch.Tensor) -> torch.Tensor:
    t = t.detach().reshape(-1)
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def _raw(t: torch.Tensor) -> Bytes:
    """A tensor's bytes as safetensors stores them (little-endian, this machine's order)."""
    flat = t.detach().contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().data if flat.numel() else b""


def report(
    model: CompiledModel,
    stream_plan: StreamPlan,
    maker: _Maker,
    *,
    scheme_label: str,
    seed: int,
) -> InitReport:
    """The statistics of every parameter name, in the model's order, as ``init`` reports."""
    rows = []
    for unit in stream_plan.units:
        if not unit.parameter:
            continue
        first = maker.rows[unit.names[0]]
        rows.append(first)
        rows.extend(
            replace(first, name=a, note=f"same tensor as {unit.names[0]}") for a in unit.names[1:]
        )
    order = {n: i for i, (n, _) in enumerate(model.module.named_parameters(remove_duplicate=False))}
    rows.sort(key=lambda r: order[r.name])
    return InitReport(model.name, scheme_label, seed, tuple(rows))


def maker(model: CompiledModel, seed: int) -> _Maker:
    return _Maker(model, seed)


def data_of(stream_plan: StreamPlan, make: _Maker) -> Callable[[Entry], Iterator[Bytes]]:
    """What the writer asks for (an entry's bytes) from the maker (a unit's)."""
    units = {u.entry.name: u for u in stream_plan.units}
    return lambda entry: make.data(units[entry.name])
