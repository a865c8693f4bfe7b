"""Markdown and CSV output: well-formed tables whose values equal the JSON's."""

from __future__ import annotations

import csv
import io
import json

import pytest

from netinspect.analysis.params import ParamRow, ParamsReport
from netinspect.render.tables import params_rows, to_markdown
from tests.conftest import run_in_process

SMALL = ["mlp", "rgnet", "tied", "lazy_mlp", "lazy_cnn", "tiny_lm"]


@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize("command", ["params", "dry-run"])
def test_markdown_is_a_github_table(name: str, command: str) -> None:
    result = run_in_process(command, f"configs/{name}.yaml", "--format", "markdown")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines)
    assert len({line.count(" | ") for line in lines}) == 1  # every row has every column
    assert set(lines[1].replace("|", "").split()) <= {"---", "---:"}
    rows = json.loads(run_in_process(command, f"configs/{name}.yaml", "--format", "json").out)
    assert len(lines) - 2 == len(rows["parameters" if command == "params" else "layers"])


@pytest.mark.parametrize("name", SMALL)
def test_csv_values_equal_the_json(name: str) -> None:
    table = list(
        csv.DictReader(
            io.StringIO(run_in_process("params", f"configs/{name}.yaml", "-f", "csv").out)
        )
    )
    doc = json.loads(run_in_process("params", f"configs/{name}.yaml", "-f", "json").out)
    assert [r["name"] for r in table] == [p["name"] for p in doc["parameters"]]
    for row, param in zip(table, doc["parameters"], strict=True):
        assert row["numel"] == ("" if param["numel"] is None else str(param["numel"]))
        assert row["shape"] == ("" if param["shape"] is None else str(param["shape"]))
        assert row["shared_with"].split() == param["shared_with"]
    run = list(
        csv.DictReader(
            io.StringIO(run_in_process("dry-run", f"configs/{name}.yaml", "-f", "csv").out)
        )
    )
    layers = json.loads(run_in_process("dry-run", f"configs/{name}.yaml", "-f", "json").out)[
        "layers"
    ]
    assert [(r["path"], int(r["flops"])) for r in run] == [(c["path"], c["flops"]) for c in layers]


def test_pipes_in_names_are_escaped() -> None:
    row = ParamRow(name="a|b", shape=(2,), numel=2, dtype="float32", trainable=True, shared_with=())
    text = to_markdown(params_rows(ParamsReport("m", (row,), 2, 2, 0, 8, 0)))
    assert "| a\\|b |" in text


@pytest.mark.parametrize("command", ["tree", "shared", "init"])
def test_markdown_and_csv_are_for_table_commands(command: str) -> None:
    args = ["--scheme", "ones"] if command == "init" else []
    result = run_in_process(command, "configs/mlp.yaml", *args, "--format", "csv")
    assert result.code == 2
