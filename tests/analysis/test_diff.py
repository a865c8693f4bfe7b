"""netinspect diff: added, removed and changed parameters, with deltas that add up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netinspect.analysis import params
from netinspect.analysis.diff import diff
from tests.conftest import CONFIGS, run_in_process, run_netinspect
from tests.reference import REFERENCES


def test_mlp_to_tied_names_every_change() -> None:
    report = diff(params(REFERENCES["mlp"](), "mlp"), params(REFERENCES["tied"](), "tied"))
    kinds = {
        c.name: "+" if c.before is None else "-" if c.after is None else "~" for c in report.changes
    }
    assert kinds == {
        "2.weight": "~",
        "2.bias": "~",
        "4.weight": "+",
        "4.bias": "+",
        "6.weight": "+",
        "6.bias": "+",
    }
    assert (report.total_before, report.total_after) == (49, 121)


@pytest.mark.parametrize(
    ("a", "b"),
    [("mlp", "tied"), ("tied", "mlp"), ("rgnet", "mlp"), ("mlp", "tiny_lm"), ("tied", "tied")],
)
def test_deltas_add_up_to_the_change_of_the_totals(a: str, b: str) -> None:
    report = diff(params(REFERENCES[a](), a), params(REFERENCES[b](), b))
    assert sum(c.delta for c in report.changes) == report.total_after - report.total_before
    assert report.identical == (a == b)


def test_exit_code_like_git_diff(tmp_path: Path) -> None:
    same = run_in_process("diff", "configs/mlp.yaml", "configs/mlp.yaml", "--exit-code")
    assert same.code == 0
    assert "the same parameters" in same.out
    assert run_in_process("diff", "configs/mlp.yaml", "configs/tied.yaml").code == 0
    assert run_in_process("diff", "configs/mlp.yaml", "configs/tied.yaml", "--exit-code").code == 3
    wider = tmp_path / "wider.yaml"
    wider.write_text(
        (CONFIGS / "mlp.yaml").read_text().replace("[4, 8]", "[4, 16]").replace("[8, 1]", "[16, 1]")
    )
    result = run_netinspect(
        "diff", "configs/mlp.yaml", str(wider), "--format", "json", "--exit-code"
    )
    assert result.code == 3
    doc = json.loads(result.out)
    assert (doc["identical"], doc["added"], doc["removed"]) == (False, [], [])
    assert [c["name"] for c in doc["changed"]] == ["0.weight", "0.bias", "2.weight"]
    assert doc["changed"][0]["before"] == {"shape": [8, 4], "dtype": "float32", "numel": 32}
    assert doc["changed"][0]["after"] == {"shape": [16, 4], "dtype": "float32", "numel": 64}
    assert (doc["total_before"], doc["total_after"]) == (49, 97)


def test_lazy_specs_compare_after_an_input() -> None:
    result = run_in_process(
        "diff", "configs/lazy_mlp.yaml", "configs/lazy_mlp.yaml", "--input", "2x20", "--exit-code"
    )
    assert result.code == 0
    assert "7,946 -> 7,946" in result.out


def test_two_versions_of_one_model_are_named_by_their_files(tmp_path: Path) -> None:
    mlp = (CONFIGS / "mlp.yaml").read_text()
    (tmp_path / "mlp.yaml").write_text(mlp)
    (tmp_path / "mlp_wide.yaml").write_text(mlp.replace("Linear: [4, 8]", "Linear: [4, 9]"))
    result = run_netinspect("diff", "mlp.yaml", "mlp_wide.yaml", cwd=tmp_path)
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == "mlp.yaml -> mlp_wide.yaml"
    result = run_netinspect("diff", "mlp.yaml", "-", "--format", "json", cwd=tmp_path, stdin=mlp)
    assert (json.loads(result.out)["before"], json.loads(result.out)["after"]) == (
        "mlp.yaml",
        "<stdin>",
    )


def test_standard_input_is_read_once() -> None:
    result = run_netinspect("diff", "-", "-", stdin="model: [ReLU]\n")
    assert result.code == 1
    assert result.err.startswith("B: error: standard input can be read once")
    usage = run_netinspect("diff", "--help")
    assert "Usage: netinspect diff [OPTIONS] A B" in usage.out
