"""Names a spec gives are printed as they are, in every format: whatever visible characters
they hold (brackets, colons, pipes, any script), never read as markup, emoji or a table's
structure, and read back unchanged from JSON and CSV."""

from __future__ import annotations

import csv
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netinspect
from netinspect.analysis import params, tree
from netinspect.render.json import params_json, tree_json
from netinspect.render.jsontext import dumps
from netinspect.render.tables import params_rows, to_csv, to_markdown
from netinspect.render.text import params_table, tree_view

# Visible characters, with the ones markup, emoji codes and tables care about made likely.
NAME_CHARS = st.sampled_from("[]/:|,*_-=#!@") | st.characters(codec="utf-8").filter(
    lambda c: c.isprintable() and c not in ".'"
)
NAMES = st.text(NAME_CHARS, min_size=1, max_size=12).filter(
    lambda n: n.strip() == n and n not in ("training",) and not n[0].isdigit()
)


def _yaml_key(name: str) -> str:
    return "'" + name + "'"  # single-quoted: every character stands for itself


def _render(renderable: object) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, width=400, color_system=None, markup=False, emoji=False).print(renderable)
    return buffer.getvalue()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(NAMES, min_size=1, max_size=4, unique=True))
def test_any_visible_name_is_printed_as_it_is(names: list[str]) -> None:
    text = "model:\n" + "".join(f"  {_yaml_key(n)}: {{Linear: [2, 2]}}\n" for n in names)
    compiled = netinspect.build(netinspect.load_string(text, "n.yaml"))
    report = params(compiled.module, "m")
    expected = [f"{n}.{p}" for n in names for p in ("weight", "bias")]
    assert [row["name"] for row in json.loads(dumps(params_json(report)))["parameters"]] == (
        expected
    )
    table = to_csv(params_rows(report))
    assert [row[0] for row in list(csv.reader(io.StringIO(table)))[1:]] == expected
    markdown = to_markdown(params_rows(report))
    for name in expected:
        assert name.replace("|", "\\|") in markdown
    assert len(markdown.splitlines()) == 2 + len(expected)  # one line per row, always
    shown = _render(params_table(report))
    tree_text = _render(tree_view(tree(compiled.module, "m"), fold=False))  # every name shown
    tree_names = [c["name"] for c in json.loads(dumps(tree_json(tree(compiled.module, "m"))))[
        "root"]["children"]]  # fmt: skip
    assert tree_names == names
    for name in names:
        assert f"({name}): Linear" in tree_text.replace("\n", "") or not name.isascii()
        assert f"{name}.weight" in shown.replace("\n", "") or not name.isascii()
