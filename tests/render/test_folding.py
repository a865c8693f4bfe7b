"""Folding a dry run's calls: expanding the folded rows again gives every call back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netinspect.analysis.dryrun import CallRecord
from netinspect.render.folding import CallRow, call_rows


def _call(path: str, depth: int, kind: str, size: int) -> CallRecord:
    return CallRecord(path, kind, depth, (2, size), (2, size), size, 2 * size)


# A model as nested lists: an int is a leaf of that size, a list a block of its children.
models = st.recursive(
    st.integers(1, 3), lambda inner: st.lists(inner, min_size=1, max_size=4), max_leaves=24
)


def _calls(model: object) -> list[CallRecord]:
    calls: list[CallRecord] = []
    stack: list[tuple[object, str, int]] = [(model, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, int):
            calls.append(_call(path, depth, "Linear", node))
            continue
        assert isinstance(node, list)
        calls.append(_call(path, depth, "Sequential", 0))
        for index in reversed(range(len(node))):
            child = f"{path}.{index}" if path else str(index)
            stack.append((node[index], child, depth + 1))
    return calls


def _expand(rows: list[CallRow]) -> list[tuple[str, int, int]]:
    """Every call again, as (type, depth, params): each folded row and the rows under it,
    ``times`` over."""
    out: list[tuple[str, int, int]] = []
    index = 0
    while index < len(rows):
        row = rows[index]
        end = index + 1
        while end < len(rows) and rows[end].call.depth > row.call.depth:
            end += 1
        one = [(row.call.type, row.call.depth, row.call.params), *_expand(rows[index + 1 : end])]
        out.extend(one * row.times)
        index = end
    return out


@settings(max_examples=150, deadline=None)
@given(models)
def test_folded_rows_expand_to_every_call(model: object) -> None:
    calls = _calls(model)
    folded = call_rows(calls, fold=True, depth=None)
    assert _expand(folded) == [(c.type, c.depth, c.params) for c in calls]
    assert [r.call for r in call_rows(calls, fold=False, depth=None)] == calls
    assert all(r.times == 1 for r in call_rows(calls, fold=False, depth=None))


def test_a_run_needs_identical_subtrees() -> None:
    calls = _calls([[1, 2], [1, 2], [1, 3], 2, 2])
    rows = call_rows(calls, fold=True, depth=None)
    assert [(r.call.path, r.times, r.last) for r in rows if r.call.depth == 1] == [
        ("0", 2, "1"),
        ("2", 1, "2"),
        ("3", 2, "4"),
    ]
