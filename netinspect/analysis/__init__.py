"""Analyses: pure functions from a built model to plain dataclasses. No printing, no rich."""

from netinspect.analysis.params import ParamRow, ParamsReport, params
from netinspect.analysis.tree import TreeNode, TreeReport, tree

__all__ = ["ParamRow", "ParamsReport", "TreeNode", "TreeReport", "params", "tree"]
