"""Analyses: pure functions from a built model to plain dataclasses. No printing, no rich."""

from netinspect.analysis.dryrun import CallRecord, DryRunReport, Materialized, dry_run
from netinspect.analysis.params import ParamRow, ParamsReport, params
from netinspect.analysis.shared import SharedGroup, SharedReport, shared
from netinspect.analysis.tree import TreeNode, TreeReport, tree

__all__ = [
    "CallRecord",
    "DryRunReport",
    "Materialized",
    "ParamRow",
    "ParamsReport",
    "SharedGroup",
    "SharedReport",
    "TreeNode",
    "TreeReport",
    "dry_run",
    "params",
    "shared",
    "tree",
]
