"""The JSON layout: the same document as json.dumps, one table row per line."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from netinspect.render.jsontext import dumps
from tests.conftest import run_in_process

FINITE = st.floats(allow_nan=False, allow_infinity=False)
SCALARS = st.none() | st.booleans() | st.integers() | FINITE | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@given(VALUES)
def test_any_document_reads_back_unchanged(document: Any) -> None:
    assert json.loads(dumps(document)) == document


def _no_constants(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


ANY_FLOAT = st.floats()
WITH_NAN = st.recursive(
    st.none() | ANY_FLOAT | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _finite_only(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_only(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_only(v) for v in value]
    return value


@given(WITH_NAN)
def test_every_document_is_strict_json(document: Any) -> None:
    # RFC 8259 has no NaN or Infinity: a non-finite number is written as null.
    assert json.loads(dumps(document), parse_constant=_no_constants) == _finite_only(document)


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
