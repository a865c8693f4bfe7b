"""JSON documents of SPEC.md section 3, as plain dicts ready for ``json.dumps``."""

from __future__ import annotations

from typing import Any

from netinspect.analysis.params import ParamsReport
from netinspect.analysis.tree import TreeNode, TreeReport


def params_json(report: ParamsReport) -> dict[str, Any]:
    return {
        "model": report.model,
        "parameters": [
            {
                "name": row.name,
                "shape": None if row.shape is None else list(row.shape),
                "numel": row.numel,
                "dtype": row.dtype,
                "trainable": row.trainable,
                "shared_with": list(row.shared_with),
            }
            for row in report.rows
        ],
        "total": report.total,
        "trainable": report.trainable,
        "non_trainable": report.non_trainable,
        "bytes": report.bytes,
        "uninitialized": report.uninitialized,
    }


def tree_json(report: TreeReport) -> dict[str, Any]:
    return {"model": report.model, "root": _node(report.root)}


def _node(node: TreeNode) -> dict[str, Any]:
    return {
        "name": node.name,
        "path": node.path,
        "type": node.type,
        "args": node.args,
        "params": node.params,
        "shared": node.shared,
        "lazy": node.lazy,
        "children": [_node(c) for c in node.children],
        "hidden_children": node.hidden_children,
    }
