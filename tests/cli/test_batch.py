"""Many specs in one command: sections and a line per spec, one JSON document, the worst
exit status, globs; and a spec's own ``budget:``, which ``check`` needs no flags for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netinspect.errors import ExitCode
from tests.conftest import CONFIGS, ROOT, run_netinspect

BAD = "model:\n  - Linear: [4, 8]\n  - Linaer: [8, 1]\n"  # an unknown layer at 3:5
SMALL = """\
name: small
input: [2, 4]
budget:
  max_params: 30
  expect_output: [2, 1]
model:
  - Linear: [4, 8]
  - Linear: [8, 1]
"""  # 49 params: max-params (4:15) fails, expect-output holds
FITS = SMALL.replace("max_params: 30", "max_params: 1K").replace("name: small", "name: fits")


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    for name, text in {"bad": BAD, "small": SMALL, "fits": FITS}.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


def test_one_process_runs_every_spec_and_exits_with_the_worst_status(specs: Path) -> None:
    paths = [str(specs / f"{n}.yaml") for n in ("fits", "small", "bad")]
    result = run_netinspect("check", *paths, env={"COLUMNS": "200"})
    assert result.code == ExitCode.BAD_INPUT  # a bad spec beats a failed budget
    # Each report under its spec, as it shows alone; the bad spec's error on stderr.
    assert result.out.startswith(f"==> {specs}/fits.yaml <==\nfits\n")
    assert f"==> {specs}/small.yaml <==\nsmall\n" in result.out
    assert f"==> {specs}/bad.yaml <==" not in result.out
    assert result.err == (
        f"{specs}/bad.yaml:3:5: error: unknown layer 'Linaer': not a shared module, a block, "
        "or a torch.nn layer. Did you mean 'Linear' or 'LazyLinear'?\n"
    )
    summary = result.out[result.out.index(" Spec ") :].splitlines()
    assert [line.split()[:2] for line in summary[2:5]] == [
        [f"{specs}/fits.yaml", "ok"],
        [f"{specs}/small.yaml", "FAILED"],
        [f"{specs}/bad.yaml", "error"],
    ]
    assert "1 of 2 checks failed: max-params" in summary[3]
    assert "3:5: unknown layer 'Linaer'" in summary[4]
    assert summary[-1] == "3 specs: 1 ok, 1 failed, 1 error"


@pytest.mark.parametrize(
    ("names", "status"),
    [(["fits"], 0), (["fits", "fits2"], 0), (["fits", "small"], 3), (["small", "bad"], 1)],
)
def test_the_exit_status_is_the_worst_of_the_specs(
    specs: Path, names: list[str], status: int
) -> None:
    (specs / "fits2.yaml").write_text(FITS)
    assert run_netinspect("check", *(str(specs / f"{n}.yaml") for n in names)).code == status


def test_a_bug_on_one_spec_is_exit_4_and_the_others_still_run(specs: Path) -> None:
    """A Python target that raises inside netinspect's own code is a user error; an
    exception netinspect itself raises is a bug, exit 4, whatever the others did."""
    code = (
        "import sys\n"
        "from netinspect import api\n"
        "real = api.params\n"
        "def broken(model, *a, **k):\n"
        "    if model.name == 'small': raise ZeroDivisionError('planted')\n"
        "    return real(model, *a, **k)\n"
        "api.params = broken\n"
        "from netinspect.cli.app import main\n"
        f"sys.argv = ['netinspect', 'params', '{specs}/small.yaml', '{specs}/fits.yaml',\n"
        f"            '{specs}/bad.yaml']\n"
        "main()\n"
    )
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == ExitCode.INTERNAL  # a bug beats a bad spec
    assert "internal error: ZeroDivisionError: planted" in done.stderr
    assert f"==> {specs}/fits.yaml <==" in done.stdout
    assert "3 specs: 1 ok, 2 errors" in done.stdout


def test_json_is_one_document_with_an_entry_per_spec_in_argument_order(specs: Path) -> None:
    args = [str(specs / f"{n}.yaml") for n in ("small", "bad", "fits")]
    result = run_netinspect("check", *args, "--format", "json")
    assert result.code == ExitCode.BAD_INPUT
    assert result.err == ""
    doc = json.loads(result.out)
    assert (doc["ok"], doc["exit_status"]) == (False, 1)
    assert [(e["spec"], e["exit_status"]) for e in doc["specs"]] == list(
        zip(args, [3, 1, 0], strict=False)
    )
    small, bad, fits = doc["specs"]
    alone = json.loads(run_netinspect("check", args[0], "--format", "json").out)
    assert {k: v for k, v in small.items() if k not in ("spec", "exit_status")} == alone
    assert bad["error"] == {
        "message": "unknown layer 'Linaer': not a shared module, a block, or a torch.nn "
        "layer. Did you mean 'Linear' or 'LazyLinear'?",
        "file": args[1],
        "line": 3,
        "column": 5,
    }
    assert fits["ok"] is True
    assert [c["name"] for c in fits["checks"]] == [
        "max-params",
        "expect-output",
    ]


def test_one_spec_keeps_the_document_it_always_had() -> None:
    doc = json.loads(run_netinspect("params", str(CONFIGS / "mlp.yaml"), "-f", "json").out)
    assert "specs" not in doc
    assert doc["total"] == 49


@pytest.mark.parametrize("command", ["tree", "params", "shared", "dry-run"])
def test_every_inspecting_command_takes_many_specs(command: str) -> None:
    names = ["mlp", "tied", "rgnet"]
    result = run_netinspect(command, *(str(CONFIGS / f"{n}.yaml") for n in names), "-f", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    for name, entry in zip(names, doc["specs"], strict=True):
        alone = json.loads(run_netinspect(command, str(CONFIGS / f"{name}.yaml"), "-f", "json").out)
        assert {k: v for k, v in entry.items() if k not in ("spec", "exit_status")} == alone


def test_text_summaries_say_what_each_command_found() -> None:
    args = [str(CONFIGS / f"{n}.yaml") for n in ("mlp", "tied")]
    lines = {
        command: run_netinspect(command, *args, env={"COLUMNS": "120"}).out.splitlines()[-4:-2]
        for command in ("tree", "params", "shared", "dry-run")
    }
    assert [line.split(None, 2)[2] for line in lines["tree"]] == ["49 params", "121 params"]
    assert [line.split(None, 2)[2] for line in lines["params"]] == [
        "49 params, 196 B",
        "121 params, 484 B",
    ]
    assert [line.split(None, 2)[2] for line in lines["shared"]] == [
        "no tied parameters",
        "2 groups of tied parameters, saving 72 params",
    ]
    assert [line.split(None, 2)[2] for line in lines["dry-run"]] == [
        "output [2, 1], 160 FLOPs",
        "output [2, 1], 672 FLOPs",
    ]


def test_csv_and_markdown_are_one_table_led_by_the_spec() -> None:
    args = [str(CONFIGS / f"{n}.yaml") for n in ("mlp", "tied")]
    csv = run_netinspect("params", *args, "-f", "csv").out.splitlines()
    assert csv[0] == "spec,name,shape,dtype,numel,share,trainable,shared_with,buffer"
    assert csv[1].startswith(f"{args[0]},0.weight,")
    assert csv[5].startswith(f"{args[1]},0.weight,")
    assert len(csv) == 1 + 4 + 8
    markdown = run_netinspect("dry-run", *args, "-f", "markdown").out.splitlines()
    assert markdown[0].startswith("| spec | path | type |")


def test_a_quoted_glob_is_expanded_sorted_each_file_once(specs: Path) -> None:
    result = run_netinspect("check", str(specs / "*.yaml"), str(specs / "fits.yaml"), "-f", "json")
    doc = json.loads(result.out)
    assert [e["spec"] for e in doc["specs"]] == [
        str(specs / f"{n}.yaml") for n in ("bad", "fits", "small")
    ]


def test_a_recursive_glob_spans_folders(specs: Path) -> None:
    (specs / "deeper").mkdir()
    (specs / "deeper" / "more.yaml").write_text(FITS)
    doc = json.loads(run_netinspect("tree", str(specs / "**" / "f*.yaml"), "-f", "json").out)
    assert doc["model"] == "fits"  # one match: the document of one spec
    doc = json.loads(run_netinspect("tree", str(specs / "**" / "*.yaml"), "-f", "json").out)
    assert str(specs / "deeper" / "more.yaml") in [e["spec"] for e in doc["specs"]]


def test_a_glob_that_matches_nothing_is_a_bad_spec_and_the_others_run(specs: Path) -> None:
    result = run_netinspect("tree", str(specs / "*.yml"), str(specs / "fits.yaml"))
    assert result.code == ExitCode.BAD_INPUT
    assert result.err == f"{specs}/*.yml: error: no file matches '{specs}/*.yml'\n"
    assert f"==> {specs}/fits.yaml <==" in result.out


def test_standard_input_can_be_one_of_the_specs_once() -> None:
    mlp = str(CONFIGS / "mlp.yaml")
    doc = json.loads(
        run_netinspect("params", "-", mlp, "-f", "json", stdin=BAD.replace("Linaer", "Linear")).out
    )
    assert [e["total"] for e in doc["specs"]] == [49, 49]
    twice = run_netinspect("params", "-", mlp, "-", stdin="")
    assert twice.code == ExitCode.BAD_INPUT
    assert "standard input can be read once" in twice.err


def test_lines_of_the_summary_wrap_at_the_width(specs: Path) -> None:
    result = run_netinspect("check", "*.yaml", env={"COLUMNS": "60"}, cwd=specs)
    summary = result.out[result.out.index(" Spec ") :]
    assert all(len(line) <= 60 for line in summary.splitlines())
    assert "Linaer" in summary


# -- budget: in the spec -------------------------------------------------------------------
def test_check_needs_no_flags_when_the_spec_carries_its_budget(specs: Path) -> None:
    import torch
    from torch import nn

    expected = sum(p.numel() for p in nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 1)).parameters())
    with torch.device("meta"):
        out = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 1))(torch.empty(2, 4)).shape
    result = run_netinspect("check", str(specs / "small.yaml"), "--format", "json")
    assert result.code == ExitCode.CHECK_FAILED
    assert json.loads(result.out)["checks"] == [
        {"name": "max-params", "limit": "30", "value": f"{expected}", "ok": False,
         "set_by": f"{specs}/small.yaml:4:15"},
        {"name": "expect-output", "limit": "[2, 1]", "value": str(list(out)), "ok": True,
         "set_by": f"{specs}/small.yaml:5:18"},
    ]  # fmt: skip


def test_a_limit_on_the_command_line_overrides_the_spec_s(specs: Path) -> None:
    result = run_netinspect("check", str(specs / "small.yaml"), "--max-params", "1K", "-f", "json")
    assert result.code == 0
    checks = json.loads(result.out)["checks"]
    assert [(c["name"], c["limit"], c["ok"]) for c in checks] == [
        ("max-params", "1,000 (1.00K)", True),
        ("expect-output", "[2, 1]", True),
    ]


def test_a_spec_without_a_budget_and_no_flags_is_told_to_add_one(specs: Path) -> None:
    result = run_netinspect("check", str(CONFIGS / "mlp.yaml"), str(specs / "fits.yaml"))
    assert result.code == ExitCode.BAD_INPUT
    assert result.err.startswith(f"{CONFIGS / 'mlp.yaml'}: error: nothing to check. Give")
    assert "or a budget: in the spec (budget: {max_params: 7B})" in result.err
    assert "all 2 checks hold" in result.out
