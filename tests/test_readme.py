"""The README tells the truth: every console example prints exactly what it shows, and every
YAML block is a valid spec."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import netinspect
from tests.conftest import ROOT, _pinned_release, _torch_release, sequential

README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", README, re.M | re.S)


def console_examples() -> list[tuple[str, str]]:
    """(command, expected output) pairs from the ```console blocks."""
    examples = []
    for block in blocks("console"):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output))
    return examples


def test_readme_has_examples() -> None:
    assert len(console_examples()) >= 7
    assert len(blocks("yaml")) >= 2


# A new process each (about 2.5 s apiece, 29 of them): make lint runs them, make test not.
@pytest.mark.slow
@pytest.mark.parametrize(("command", "expected"), console_examples())
def test_console_example_prints_what_the_readme_shows(command: str, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    env.update(
        {"PATH": f"{Path(sys.executable).parent}:{env['PATH']}", "COLUMNS": "100", "TERM": "dumb"}
    )
    proc = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, cwd=ROOT, env=env, check=False
    )
    assert without_trailing_spaces(proc.stdout + proc.stderr) == without_trailing_spaces(expected)


def without_trailing_spaces(text: str) -> str:
    # Markdown editors strip trailing spaces; rich pads table cells with them.
    return "\n".join(line.rstrip() for line in text.splitlines())


@pytest.mark.parametrize("text", blocks("yaml"))
def test_yaml_examples_are_valid_specs(text: str) -> None:
    compiled = netinspect.build(netinspect.load_string(text, "README.md"))
    assert len(sequential(compiled.module)) > 0


@pytest.mark.parametrize("code", blocks("python"))
def test_python_examples_run(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(code, "README.md", "exec"), {})  # our own README's example
    printed = capsys.readouterr().out.splitlines()
    # Values the example states in its comments are what it prints.
    for line in code.splitlines():
        if "print(" in line and "# " in line:
            assert line.split("# ", 1)[1].strip() in printed


@pytest.mark.skipif(
    _torch_release() != _pinned_release(),
    reason="the README shows the pinned torch's layer arguments (LayerNorm's bias=True)",
)
def test_the_mermaid_example_is_what_graph_prints() -> None:
    """The flowchart GitHub draws in the README is the command's own output, current."""
    from tests.conftest import run_in_process

    (block,) = blocks("mermaid")
    result = run_in_process("graph", str(ROOT / "configs" / "tiny_lm.yaml"), "--depth", "2")
    assert result.code == 0
    assert block == result.out
