"""The JSON layout: the same document as json.dumps, one table row per line."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from netinspect.render.jsontext import dumps
from tests.conftest import run_in_process

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@given(VALUES)
def test_any_document_reads_back_unchanged(document: Any) -> None:
    assert json.loads(dumps(document)) == document


def test_rows_sit_on_one_line_and_nesting_is_indented() -> None:
    document = {
        "model": "m",
        "rows": [{"name": "a", "shape": [3, 4]}, {"name": "b", "shape": None}],
        "root": {"name": "", "children": [{"name": "0", "children": []}]},
    }
    assert dumps(document) == (
        "{\n"
        '  "model": "m",\n'
        '  "rows": [\n'
        '    {"name": "a", "shape": [3, 4]},\n'
        '    {"name": "b", "shape": null}\n'
        "  ],\n"
        '  "root": {\n'
        '    "name": "",\n'
        '    "children": [\n'
        '      {"name": "0", "children": []}\n'
        "    ]\n"
        "  }\n"
        "}"
    )


def test_a_dry_run_prints_one_line_per_call() -> None:
    out = run_in_process("dry-run", "configs/rgnet.yaml", "--format", "json").out
    document = json.loads(out)
    rows = [line for line in out.splitlines() if line.lstrip().startswith('{"path"')]
    assert len(rows) == len(document["layers"]) > 10
    assert [json.loads(r.strip().rstrip(",")) for r in rows] == document["layers"]
