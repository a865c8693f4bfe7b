"""The block tree: every module with its class, arguments, parameter count and marks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from torch import nn

from netinspect.analysis.tensors import alias_groups, distinct_numel, is_lazy, tensor_key


@dataclass(frozen=True)
class TreeNode:
    name: str  # the child name in its parent ("" path for the root)
    path: str  # dotted path from the root, as in named_modules()
    type: str  # class name
    args: str  # constructor arguments as print(model) shows them (extra_repr)
    params: int  # elements of the distinct initialized parameters in this subtree
    shared: bool  # this very module object appears at more than one path
    lazy: bool  # has parameters of its own that are not initialized yet
    # Its own parameters that are a tensor first named elsewhere (a tied head):
    # ("weight", "embed.weight"). A shared module's are not listed: it is marked shared.
    tied: tuple[tuple[str, str], ...]
    children: tuple[TreeNode, ...]
    hidden_children: int  # children not shown because of max_depth


@dataclass(frozen=True)
class TreeReport:
    model: str
    root: TreeNode
    # Elements counted more than once down the tree (a tied or shared tensor counts at
    # each place) beyond the root's total, which counts each tensor once.
    repeated: int = 0


def tree(module: nn.Module, model_name: str = "model", max_depth: int | None = None) -> TreeReport:
    """The module tree below ``module``; ``max_depth`` 0 shows the root alone."""
    uses = Counter(id(m) for _, m in module.named_modules(remove_duplicate=False))
    first_name = {
        tensor_key(p): names[0]
        for names, p in alias_groups(module.named_parameters(remove_duplicate=False))
    }
    places = sum(
        p.numel()
        for _, m in module.named_modules(remove_duplicate=False)
        for p in m._parameters.values()
        if p is not None and not is_lazy(p)
    )

    def tied(m: nn.Module, path: str) -> tuple[tuple[str, str], ...]:
        if uses[id(m)] > 1:  # a shared module (or inside one) is marked shared instead
            return ()
        found = []
        for own, p in m._parameters.items():
            first = first_name[tensor_key(p)] if p is not None else None
            if first is not None and first != (f"{path}.{own}" if path else own):
                found.append((own, first))
        return tuple(found)

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
            tied=tied(m, path),
            children=children,
            hidden_children=0 if expand else len(m._modules),
        )

    root = node(module, model_name, "", 0)
    return TreeReport(model_name, root, repeated=places - root.params)
