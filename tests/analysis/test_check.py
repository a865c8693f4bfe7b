"""netinspect check: budgets in human units, exit 0 when all hold and 3 when one fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netinspect.analysis.check import check
from netinspect.cli.options import parse_count
from netinspect.errors import OptionError
from tests.conftest import run_in_process, run_netinspect


def test_limits_hold_or_fail_exactly_at_the_boundary() -> None:
    report = check("m", params=49, n_bytes=196, max_params=49, max_bytes=195)
    assert [(c.name, c.ok) for c in report.checks] == [("max-params", True), ("max-bytes", False)]
    assert not report.ok
    assert check("m", params=49, n_bytes=196, output=(2, 1), expect_output=(2, 1)).ok


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("7B", 7 * 10**9),
        ("1.5T", 15 * 10**11),
        ("300M", 3 * 10**8),
        ("10k", 10**4),
        ("49", 49),
        ("7G", 7 * 10**9),
    ],
)
def test_counts_parse(text: str, count: int) -> None:
    assert parse_count(text) == count


@pytest.mark.parametrize("text", ["", "seven", "7X", "-1B", "B"])
def test_bad_counts_are_option_errors(text: str) -> None:
    with pytest.raises(OptionError, match="is not a count"):
        parse_count(text)


def test_huge_model_within_budget_exits_0() -> None:
    result = run_netinspect("check", "configs/huge.yaml", "--max-params", "80B", "--format", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["ok"] is True
    assert doc["checks"] == [
        {
            "name": "max-params",
            "limit": "80,000,000,000 (80.00B)",
            "value": "75,169,136,640 (75.17B)",
            "ok": True,
            "set_by": "--max-params",
        }
    ]


def test_a_failed_budget_exits_3_and_says_which() -> None:
    result = run_in_process(
        "check", "configs/mlp.yaml", "--max-params", "40", "--expect-output", "2x1"
    )
    assert result.code == 3
    assert "max-params" in result.out
    assert "FAILED" in result.out
    assert "1 of 2 checks failed" in result.out
    one = run_in_process("check", "configs/mlp.yaml", "--max-params", "40")
    assert one.out.rstrip().endswith("\nthe check failed")


def test_flops_and_output_come_from_a_dry_run() -> None:
    result = run_in_process(
        "check",
        "configs/tiny_lm.yaml",
        "--max-flops",
        "8.3M",
        "--expect-output",
        "2x16x1000",
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    checks = {c["name"]: c for c in json.loads(result.out)["checks"]}
    assert checks["max-flops"]["value"] == "8,290,304 (8.29 MFLOPs)"  # as dry-run writes it
    assert checks["max-flops"]["limit"] == "8,300,000 (8.30 MFLOPs)"
    assert checks["expect-output"]["value"] == "[2, 16, 1000]"
    dry_run = run_in_process("dry-run", "configs/tiny_lm.yaml")
    assert "Total FLOPs: 8,290,304 (8.29 MFLOPs)" in dry_run.out


def test_bytes_show_in_the_binary_units_of_params() -> None:
    result = run_in_process(
        "check", "configs/tiny_lm.yaml", "--max-bytes", "1MB", "--format", "json"
    )
    checks = {c["name"]: c for c in json.loads(result.out)["checks"]}
    assert checks["max-bytes"]["value"] == "522,240 B (510.00 KiB)"
    assert "Params size: 510.00 KiB" in run_in_process("params", "configs/tiny_lm.yaml").out


def test_counts_take_scientific_notation() -> None:
    assert parse_count("3e9", "--max-flops") == 3_000_000_000
    assert parse_count("1.5e3") == 1500


def test_a_lazy_model_is_counted_after_its_shapes_are_known(tmp_path: Path) -> None:
    result = run_in_process("check", "configs/lazy_mlp.yaml", "--max-params", "5000")
    assert result.code == 3  # 7,946 once a 2x20 input has shaped it, not 0
    assert "7,946 (7.95K)" in result.out
    lazy = tmp_path / "lazy.yaml"
    lazy.write_text("model:\n  - LazyLinear: 4\n")
    no_input = run_in_process("check", str(lazy), "--max-params", "10")
    assert no_input.code == 1
    assert "no example input" in no_input.err


def test_nothing_to_check_and_bad_units_are_exit_1() -> None:
    assert run_in_process("check", "configs/mlp.yaml").code == 1
    bad = run_in_process("check", "configs/mlp.yaml", "--max-bytes", "lots")
    assert bad.code == 1
    assert bad.err.startswith("--max-bytes: error: 'lots' is not a size")
