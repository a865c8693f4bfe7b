"""The block tree: every module with its class, arguments, parameter count and marks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from torch import nn

from netinspect.analysis.tensors import distinct_numel, is_lazy


@dataclass(frozen=True)
class TreeNode:
    name: str  # the child name in its parent ("" path for the root)
    path: str  # dotted path from the root, as in named_modules()
    type: str  # class name
    args: str  # constructor arguments as print(model) shows them (extra_repr)
    params: int  # elements of the distinct initialized parameters in this subtree
    shared: bool  # this very module object appears at more than one path
    lazy: bool  # has parameters of its own that are not initialized yet
    children: tuple[TreeNode, ...]
    hidden_children: int  # children not shown because of max_depth


@dataclass(frozen=True)
class TreeReport:
    model: str
    root: TreeNode


def tree(module: nn.Module, model_name: str = "model", max_depth: int | None = None) -> TreeReport:
    """The module tree below ``module``; ``max_depth`` 0 shows the root alone."""
    uses = Counter(id(m) for _, m in module.named_modules(remove_duplicate=False))

    def node(m: nn.Module, name: str, path: str, depth: int) -> TreeNode:
        expand = max_depth is None or depth < max_depth
        # _modules, not named_children(): the latter skips a module's second appearance,
        # and a shared module must show at every place it is used.
        children = (
            tuple(
                node(child, child_name, f"{path}.{child_name}" if path else child_name, depth + 1)
                for child_name, child in m._modules.items()
                if child is not None
            )
            if expand
            else ()
        )
        return TreeNode(
            name=name,
            path=path,
            type=type(m).__name__,
            args=m.extra_repr(),
            params=distinct_numel(m.parameters()),
            shared=uses[id(m)] > 1,
            lazy=any(is_lazy(p) for p in m.parameters(recurse=False)),
            children=children,
            hidden_children=0 if expand else len(m._modules),
        )

    return TreeReport(model_name, node(module, model_name, "", 0))
