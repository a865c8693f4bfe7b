"""What repeats, shown once: runs of identical consecutive siblings, in the tree and in a
dry run's calls (``--no-fold`` shows each).

Siblings are identical when everything shown of them but their names is: class,
arguments, parameters, marks and whole subtree in the tree; class, shapes, parameters,
FLOPs, marks and every call below in a dry run. Each subtree's structure is numbered once,
children first, so comparing two siblings costs one integer comparison (a 12,000-call
model folds in linear time, without recursion).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from netinspect.analysis.dryrun import CallRecord
    from netinspect.analysis.tree import TreeNode

T = TypeVar("T")

DASH = "\u2013"  # an en dash, as ranges are printed
TIMES = "\u00d7"  # a multiplication sign: 80 times a block


def tree_signatures(root: TreeNode) -> dict[int, Hashable]:
    """Each node's structure without its name, by ``id``: equal for identical subtrees.
    Computed children first, without recursion."""
    numbers: dict[Hashable, int] = {}
    found: dict[int, Hashable] = {}
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if not children_done:
            stack.append((node, True))
            stack.extend((c, False) for c in node.children)
            continue
        key = (
            node.type, node.args, node.params, node.shared, node.lazy, node.tied,
            node.hidden_children, tuple((c.name, found[id(c)]) for c in node.children),
        )  # fmt: skip
        found[id(node)] = numbers.setdefault(key, len(numbers))
    return found


def runs(items: Sequence[T], same: Sequence[Hashable] | None) -> list[list[T]]:
    """``items`` in runs of consecutive equal ``same`` values (each alone without ``same``)."""
    grouped: list[list[T]] = []
    for index, item in enumerate(items):
        if same is not None and grouped and same[index - 1] == same[index]:
            grouped[-1].append(item)
        else:
            grouped.append([item])
    return grouped


def name_range(first: str, last: str) -> str:
    """``block 0`` to ``block 79`` as ``block 0`` dash ``79``; others as first dash last."""
    head = re.fullmatch(r"(.*?)(\d+)", first)
    tail = re.fullmatch(r"(.*?)(\d+)", last)
    if head and tail and head.group(1) == tail.group(1):
        return f"{first}{DASH}{tail.group(2)}"
    return f"{first}{DASH}{last}"


@dataclass(frozen=True)
class CallRow:
    """One row of a dry run's table: a call, or the first of ``times`` identical
    consecutive sibling calls, the last of which is ``last``."""

    call: CallRecord
    times: int = 1
    last: str = ""


def call_rows(calls: Sequence[CallRecord], fold: bool, depth: int | None) -> list[CallRow]:
    """The rows of a dry run, in call order, down to ``depth``; with ``fold``, a run of
    identical sibling calls is one row, followed by the calls under the first of them."""
    children = _children(calls)
    same = _call_signatures(calls, children) if fold else None
    rows: list[CallRow] = []
    stack: list[list[int]] = [[0]] if calls else []  # runs still to show, last first
    while stack:
        run = stack.pop()
        first = run[0]
        call = calls[first]
        if depth is not None and call.depth > depth:
            continue
        rows.append(CallRow(call, len(run), _name(calls[run[-1]].path)))
        kids = children[first]
        grouped = runs(kids, [same[k] for k in kids] if same is not None else None)
        stack.extend(reversed(grouped))
    return rows


def _name(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _children(calls: Sequence[CallRecord]) -> list[list[int]]:
    """Each call's direct sub-calls, by index: a call's subtree is the calls after it that
    are deeper than it."""
    children: list[list[int]] = [[] for _ in calls]
    open_calls: list[int] = []
    for index, call in enumerate(calls):
        while open_calls and calls[open_calls[-1]].depth >= call.depth:
            open_calls.pop()
        if open_calls:
            children[open_calls[-1]].append(index)
        open_calls.append(index)
    return children


def _call_signatures(calls: Sequence[CallRecord], children: list[list[int]]) -> list[int]:
    """A number per call, equal for calls equal in all but their own name (children later
    in the list than their parent: numbered from the end)."""
    numbers: dict[Hashable, int] = {}
    found = [0] * len(calls)
    for index in range(len(calls) - 1, -1, -1):
        c = calls[index]
        key = (
            c.type, c.input, c.output, c.params, c.flops, c.shared, c.tied,
            tuple((_name(calls[k].path), found[k]) for k in children[index]),
        )  # fmt: skip
        found[index] = numbers.setdefault(key, len(numbers))
    return found
