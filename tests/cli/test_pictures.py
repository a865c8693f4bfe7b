"""graph and report through the command line: formats, files written whole, the way a
missing Graphviz is reported. (What the pictures hold is tested in tests/render/.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.chromium import why_no_dot
from tests.conftest import (
    CONFIGS,
    check_golden,
    command_env,
    need,
    netinspect_exe,
    run_in_process,
    run_netinspect,
)

TINY = str(CONFIGS / "tiny_lm.yaml")


def test_graph_prints_mermaid_by_default_and_markdown_on_request(update_golden: bool) -> None:
    result = run_in_process("graph", TINY)
    assert (result.code, result.err) == (0, "")
    check_golden("graph_tiny_lm.mmd", result.out, update_golden)  # as render/test_graph.py
    fenced = run_in_process("graph", TINY, "--format", "markdown")
    assert fenced.out == f"```mermaid\n{result.out}```\n"


def test_graph_writes_dot_to_a_file(tmp_path: Path, update_golden: bool) -> None:
    out = tmp_path / "model.dot"
    result = run_in_process("graph", TINY, "-f", "dot", "-o", str(out))
    assert (result.code, result.out, result.err) == (0, "", "")
    check_golden("graph_tiny_lm.dot", out.read_text(), update_golden)


def test_graph_draws_svg_and_png_with_dot(tmp_path: Path) -> None:
    need(why_no_dot())
    svg = run_in_process("graph", TINY, "-f", "svg")
    assert svg.code == 0
    assert svg.out.startswith("<?xml")
    assert "head: Linear" in svg.out
    png = tmp_path / "model.png"
    assert run_in_process("graph", TINY, "-f", "png", "-o", str(png)).code == 0
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_without_dot_an_image_is_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no dot on it
    out = tmp_path / "model.svg"
    result = run_in_process("graph", TINY, "-f", "svg", "-o", str(out))
    assert result.code == 1
    assert "needs Graphviz's dot program, which is not installed" in result.err
    assert "apt-get install graphviz" in result.err
    assert "Traceback" not in result.err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either
    assert run_in_process("graph", TINY, "-f", "dot").code == 0  # DOT text needs no dot


def test_graph_folds_and_warns_where_github_would_not_draw() -> None:
    huge = str(CONFIGS / "huge.yaml")
    whole = run_in_process("graph", huge)
    assert whole.code == 0
    assert "GitHub would show an error instead. Fold it with --depth N" in whole.err
    folded = run_in_process("graph", huge, "--depth", "1")
    assert (folded.code, folded.err) == (0, "")
    assert folded.out.count("modules folded") == 80  # the model's 80 blocks, one node each
    assert folded.out.count(" --> ") == 81


def test_graph_takes_an_input_for_shapes() -> None:
    spec = "model: [{Linear: [4, 2]}]\n"
    plain = run_netinspect("graph", "-", stdin=spec)
    assert "\u2192" not in plain.out  # no input: no shapes
    shaped = run_netinspect("graph", "-", "--input", "3x4", stdin=spec)
    assert shaped.code == 0
    assert "[3, 4] \u2192 [3, 2]" in shaped.out


def test_report_writes_one_html_file(tmp_path: Path) -> None:
    out = tmp_path / "model.html"
    result = run_netinspect("report", TINY, "-o", str(out), "--no-memory")
    assert result.code == 0
    assert result.err == f"wrote {out}: 15 modules of tiny_lm\n"
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "Memory: not planned (--no-memory)." in page.split("netinspect-data")[1]


def test_report_refuses_an_unwritable_place_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "model.html"
    result = run_in_process("report", TINY, "-o", str(out))
    assert result.code == 1
    assert "does not exist" in result.err
    assert not out.parent.exists()


def test_the_installed_command_pipes_a_png_whole() -> None:
    """Binary output through a real pipe, from the installed console script."""
    need(why_no_dot())
    done = subprocess.run(
        [netinspect_exe(), "graph", TINY, "--format", "png"],
        capture_output=True, env=command_env(), check=False, timeout=120,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout.startswith(b"\x89PNG\r\n\x1a\n")
    assert done.stdout.endswith(b"IEND\xaeB`\x82")  # the last chunk: the image is whole


def test_png_is_refused_on_a_terminal() -> None:
    result = run_netinspect("graph", TINY, "--format", "png", env={"FORCE_COLOR": "1"})
    assert result.code == 1
    assert result.err.startswith("--format: error: --format png writes binary data")
    assert "Give -o FILE.png" in result.err
    assert "Traceback" not in result.err


def test_a_failure_of_dot_itself_is_reported_with_what_it_said() -> None:
    need(why_no_dot())
    from netinspect.errors import NetinspectError
    from netinspect.render.graph import dot_image

    with pytest.raises(NetinspectError, match=r"Graphviz's dot failed \(exit status 1\): .*syntax"):
        dot_image("digraph { a -> }", "svg")
