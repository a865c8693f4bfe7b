"""``torchrun -m netinspect init ... --out ckpt/``: each rank makes its shard of the weights.

PyTorch's own engine, not one of ours: every rank builds the model on meta, shards it with
FSDP2 (``fully_shard`` on the root: one unit, so tied parameters share it), allocates only
its own rows (``to_empty``), ties again what ``to_empty`` untied, fills its rows, and the
ranks save together with ``torch.distributed.checkpoint`` (one ``__{rank}_0.distcp`` each
and ``.metadata``); rank 0 writes ``netinspect.json`` beside them (seed, scheme, rng, ties).

The rows are filled exactly as one process fills the whole tensor (``randomness``):

- an elementwise scheme makes only this rank's elements, chunk by chunk (a chunk its rows
  cut is made whole and sliced), from the chunks' own generators;
- anything else (a layer's own default, ``orthogonal``, a buffer) is made by building the
  spec's layer that holds it, whole, on the cpu under its own seed, as one process builds
  it, and keeping this rank's rows: the memory of the largest such layer, on every rank.

Never ``reset_parameters`` on a rank's shard: on the cpu each rank's shard would draw from
the same seeded stream, so one rank's rows would be a copy of another's.

Tied tensors are saved once, under their first name (DCP would store each alias again).
gloo on the cpu; NCCL where CUDA is present has not been run here (no GPU).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import torch
from torch import nn

from netinspect.analysis.streaming import StreamPlan, Unit, _Maker
from netinspect.builder.compiler import CompiledModel
from netinspect.randomness import RNG_VERSION, fill_range


@dataclass(frozen=True)
class RankReport:
    """What one run across ranks wrote."""

    model: str
    ranks: int
    tensors: int  # stored (each tied tensor once)
    bytes: int  # of the whole model's stored tensors
    local_bytes: int  # this rank's parameters' rows (rank 0's, as reported)
    seed: int
    scheme: str
    ties: dict[str, str]


def world_size() -> int:
    """How many processes torchrun started (1 outside torchrun)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def start() -> None:
    """Join the process group torchrun set up (gloo on the cpu; NCCL with CUDA)."""
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")


def agree_seed(seed: int) -> int:
    """Rank 0's seed, on every rank: a seed each rank drew alone would differ."""
    import torch.distributed as dist

    start()
    chosen = [seed]
    dist.broadcast_object_list(chosen, src=0)
    return int(chosen[0])


def rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if dist.is_initialized() else 0


def barrier() -> None:
    import torch.distributed as dist

    dist.barrier()


def gather(value: object) -> list[object]:
    """Every rank's ``value``, on rank 0 (an empty list elsewhere)."""
    import torch.distributed as dist

    here = dist.get_rank()
    found: list[object] = [None] * dist.get_world_size() if here == 0 else []
    dist.gather_object(value, found if here == 0 else None, dst=0)
    return found


def rows_of(rows: int, rank: int, ranks: int) -> tuple[int, int]:
    """The rows ``[start, stop)`` of dim 0 that FSDP2 gives ``rank``: ``torch.chunk``'s
    split, ceil(rows / ranks) each, the last ones shorter or empty."""
    each = -(-rows // ranks)
    start = min(rank * each, rows)
    return start, min(start + each, rows)


def make_shards(
    model: CompiledModel, plan: StreamPlan, folder: str, *, seed: int, scheme: str
) -> RankReport:
    """This rank's part of the checkpoint: shard, fill, save (every rank calls it)."""
    import torch.distributed as dist
    from torch.distributed.checkpoint.state_dict_saver import save as dcp_save
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    start()
    here, ranks = dist.get_rank(), dist.get_world_size()
    module = model.module
    ties = _tied(module)
    fully_shard(module, mesh=init_device_mesh("cpu", (ranks,)))
    module.to_empty(device="cpu")
    _retie(module, ties)
    maker = _Maker(model, seed)
    named = {**dict(module.named_parameters()), **dict(module.named_buffers())}
    local_bytes = 0
    with torch.no_grad():
        for unit in plan.units:
            tensor = named[unit.names[0]]
            local = tensor.to_local() if hasattr(tensor, "to_local") else tensor
            local_bytes += local.numel() * local.element_size() if unit.parameter else 0
            _fill(unit, local, here, ranks, maker, sharded=hasattr(tensor, "to_local"))
    state = {k: v for k, v in module.state_dict().items() if k not in plan.ties}
    os.makedirs(folder, exist_ok=True)
    dcp_save(state, checkpoint_id=folder)
    if here == 0:
        sidecar = {"seed": str(seed), "scheme": scheme, "rng": RNG_VERSION, "ties": plan.ties}
        with open(os.path.join(folder, "netinspect.json"), "w", encoding="utf-8") as f:
            json.dump(sidecar, f, indent=2)
            f.write("\n")
    dist.barrier()
    return RankReport(
        model.name, ranks, len(plan.units), plan.total, local_bytes, seed, scheme, plan.ties
    )


def _fill(
    unit: Unit, local: torch.Tensor, rank: int, ranks: int, maker: _Maker, *, sharded: bool
) -> None:
    """This rank's rows of ``unit`` into ``local``, as one process makes the whole tensor."""
    shape = unit.entry.shape
    start, stop = (
        rows_of(shape[0], rank, ranks) if sharded and shape else (0, shape[0] if shape else 1)
    )
    if sharded and shape and tuple(local.shape) != (stop - start, *shape[1:]):
        raise AssertionError(
            f"{unit.names[0]}: FSDP2 gave rows {tuple(local.shape)}, not [{start}, {stop})"
        )
    if local.numel() == 0:
        return
    if unit.chunked is not None:
        row = local.numel() // max(stop - start, 1) if shape else 1
        fill_range(
            local, unit.chunked, seed=maker.seed, name=unit.names[0], start=start * row,
            total=unit.entry.numel,
        )  # fmt: skip
        return
    whole, _ = maker._with_layer(unit)  # the layer built whole, as one process builds it
    local.copy_(whole[start:stop] if sharded and shape else whole)


def _tied(module: nn.Module) -> list[list[str]]:
    from netinspect.analysis.tensors import alias_groups

    named = module.named_parameters(remove_duplicate=False)
    return [names for names, _ in alias_groups(named) if len(names) > 1]


def _retie(module: nn.Module, ties: list[list[str]]) -> None:
    """Tie again what ``to_empty`` may have untied: every later name the first's."""
    for names in ties:
        first = module.get_parameter(names[0])
        for name in names[1:]:
            owner, _, attr = name.rpartition(".")
            parent = module.get_submodule(owner) if owner else module
            parent._parameters[attr] = first
