"""The JSON documents each command prints (the README gives their fields), as plain dicts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netinspect.render.units import budget

if TYPE_CHECKING:  # reports are plain data: rendering them needs no torch
    from netinspect.analysis.check import CheckReport
    from netinspect.analysis.diff import DiffReport
    from netinspect.analysis.distributed import RankReport
    from netinspect.analysis.dryrun import DryRunReport
    from netinspect.analysis.init import InitReport
    from netinspect.analysis.loadcheck import Entry as LoadEntry
    from netinspect.analysis.loadcheck import LoadReport
    from netinspect.analysis.params import ParamsReport
    from netinspect.analysis.shared import SharedReport
    from netinspect.analysis.streaming import StreamPlan
    from netinspect.analysis.training import MemoryReport
    from netinspect.analysis.tree import TreeNode, TreeReport


def params_json(report: ParamsReport) -> dict[str, Any]:
    return {
        "model": report.model,
        "parameters": [
            {
                "name": row.name,
                "shape": _dims(row.shape),
                "numel": row.numel,
                "bytes": row.nbytes,
                "dtype": row.dtype,
                "trainable": row.trainable,
                "shared_with": list(row.shared_with),
                "share": row.share,
                "buffer": row.buffer,
            }
            for row in report.rows
        ],
        "total": report.total,
        "trainable": report.trainable,
        "non_trainable": report.non_trainable,
        "bytes": report.bytes,
        "uninitialized": report.uninitialized,
        "buffers": report.buffers,
        "buffer_bytes": report.buffer_bytes,
    }


def tree_json(report: TreeReport) -> dict[str, Any]:
    return {"model": report.model, "root": _node(report.root), "repeated": report.repeated}


def _node(node: TreeNode) -> dict[str, Any]:
    return {
        "name": node.name,
        "path": node.path,
        "type": node.type,
        "args": node.args,
        "params": node.params,
        "shared": node.shared,
        "lazy": node.lazy,
        "tied": [{"name": own, "tensor": first} for own, first in node.tied],
        "children": [_node(c) for c in node.children],
        "hidden_children": node.hidden_children,
    }


def _dims(shape: tuple[int, ...] | None) -> list[int] | None:
    return None if shape is None else list(shape)


def dry_run_json(report: DryRunReport) -> dict[str, Any]:
    return {
        "model": report.model,
        "input": list(report.input),
        "input_dtype": report.input_dtype,
        "inputs": [
            {"name": i.name, "shape": list(i.shape), "dtype": i.dtype} for i in report.inputs
        ],
        "device": report.device,
        "output": _dims(report.output),
        "layers": [
            {
                "path": call.path,
                "type": call.type,
                "input": _dims(call.input),
                "output": _dims(call.output),
                "params": call.params,
                "flops": call.flops,
                "depth": call.depth,
                "shared": call.shared,
                "tied": call.tied,
            }
            for call in report.layers
        ],
        "materialized": [{"name": m.name, "shape": list(m.shape)} for m in report.materialized],
        "total": report.total,
        "flops": report.flops,
        "uncounted": list(report.uncounted),
    }


def shared_json(report: SharedReport) -> dict[str, Any]:
    return {
        "model": report.model,
        "groups": [
            {"names": list(g.names), "shape": _dims(g.shape), "numel": g.numel, "dtype": g.dtype}
            for g in report.groups
        ],
        "saved": report.saved,
        "saved_bytes": report.saved_bytes,
    }


def init_json(report: InitReport, saved_to: str | None = None) -> dict[str, Any]:
    return {
        "model": report.model,
        "scheme": report.scheme,
        "seed": report.seed,
        "parameters": [
            {
                "name": p.name,
                "scheme": p.scheme,
                "mean": p.mean,
                "std": p.std,
                "min": p.min,
                "max": p.max,
                "zeros": p.zeros,
                "expected_std": p.expected_std,
                "off": p.off,
                "note": p.note,
            }
            for p in report.parameters
        ],
        "out": saved_to,
    }


def checkpoint_plan_json(plan: StreamPlan) -> dict[str, Any]:
    """``init --out DIR/``'s plan: every figure in bytes."""
    return {
        "shards": [
            {"file": s.file, "bytes": s.nbytes, "tensors": len(s.entries)} for s in plan.shards
        ],
        "total_bytes": plan.total,
        "largest_unit_bytes": plan.largest_unit,
        "tensors_made_with_their_layer": plan.layer_units,
        "disk_free_bytes": plan.disk_free,
        "ties": plan.ties,
    }


def ranks_json(report: RankReport, folder: str) -> dict[str, Any]:
    return {
        "model": report.model,
        "scheme": report.scheme,
        "seed": report.seed,
        "ranks": report.ranks,
        "tensors": report.tensors,
        "bytes": report.bytes,
        "rank0_bytes": report.local_bytes,
        "ties": report.ties,
        "out": folder,
        "format": "dcp",
    }


def check_json(report: CheckReport) -> dict[str, Any]:
    return {
        "model": report.model,
        "ok": report.ok,
        "checks": [
            {
                "name": c.name,
                "limit": budget(c.kind, c.limit),
                "value": budget(c.kind, c.value),
                "ok": c.ok,
                "set_by": str(c.where) if c.where else None,
            }
            for c in report.checks
        ],
    }


def diff_json(report: DiffReport) -> dict[str, Any]:
    def side(row: Any) -> dict[str, Any]:
        return {"shape": _dims(row.shape), "dtype": row.dtype, "numel": row.numel}

    return {
        "before": report.before,
        "after": report.after,
        "identical": report.identical,
        "added": [
            {"name": c.name, **side(c.after), "delta": c.delta}
            for c in report.changes
            if c.before is None
        ],
        "removed": [
            {"name": c.name, **side(c.before), "delta": c.delta}
            for c in report.changes
            if c.after is None
        ],
        "changed": [
            {"name": c.name, "before": side(c.before), "after": side(c.after), "delta": c.delta}
            for c in report.changes
            if c.before is not None and c.after is not None
        ],
        "total_before": report.total_before,
        "total_after": report.total_after,
    }


def memory_json(report: MemoryReport) -> dict[str, Any]:
    """Every figure in bytes; ``training`` is null with ``--inference``."""
    plan, settings = report.training, report.settings
    doc: dict[str, Any] = {
        "model": report.model,
        "input": list(report.inputs[0][1]) if report.inputs else None,
        "inputs": [{"name": n, "shape": list(s), "dtype": d} for n, s, d in report.inputs],
        "dtype": report.dtype,
        "amp": str(settings.amp).removeprefix("torch.") if settings.amp else None,
        "optimizer": settings.optimizer,
        "target": settings.target,
        "parameters": report.parameters,
        "input_bytes": report.input,
        "gradients": plan.gradients if plan else None,
        "optimizer_state": plan.optimizer_state if plan else None,
        "saved_activations": plan.saved_activations if plan else None,
        "saved_parameters": plan.saved_parameters if plan else None,
        "training": None,
        "inference": {"peak": report.inference_peak},
        "convolutions": report.convolutions,
        "layers": [{"path": p, "saved": n} for p, n in plan.layers] if plan else [],
        "fits": None,
    }
    fit = report.fit
    if fit is not None:
        doc["fits"] = {
            "device_memory": fit.device_memory,
            "fits": fit.peak <= fit.device_memory,
            "margin": fit.device_memory - fit.peak,
            "largest_batch": fit.largest_batch,
            "largest_batch_peak": fit.largest_peak,
            "dominant": fit.dominant,
        }
    if plan is not None:
        steady = plan.steady
        doc["training"] = {
            "peak": steady.peak,
            "first_step_peak": plan.first_step.peak,
            "peak_phase": steady.peak_phase,
            "peak_op": steady.peak_op,
            "elastic_workspace": None,  # cuDNN's, not planned (see convolutions)
            "at_peak": steady.at_peak,
            "steps": [
                {
                    "start": s.start,
                    "after_forward": s.after_forward,
                    "after_backward": s.after_backward,
                    "after_step": s.after_step,
                    "peak_forward": s.peak_forward,
                    "peak_backward": s.peak_backward,
                    "peak_optimizer": s.peak_optimizer,
                    "peak": s.peak,
                    "peak_phase": s.peak_phase,
                }
                for s in plan.steps
            ],
        }
    return doc


def load_json(report: LoadReport) -> dict[str, Any]:
    """What ``load_state_dict`` would say: ``ok``, and each problem by name."""

    def side(entry: LoadEntry | None) -> dict[str, Any] | None:
        return None if entry is None else {"shape": _dims(entry.shape), "dtype": entry.dtype}

    return {
        "model": report.model,
        "weights": report.weights,
        "ok": report.ok,
        "strict": report.strict,
        "expected": report.expected,
        "found": report.found,
        "problems": [
            {
                "name": p.name,
                "kind": p.kind,
                "model": side(p.expected),
                "file": side(p.found),
                "fatal": p.fatal,
                "hint": p.hint,
            }
            for p in report.problems
        ],
    }
