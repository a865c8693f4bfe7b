"""Narrow terminals: a column is left out or a name wraps at a dot before anything is cut;
numbers and names stay whole, and a ResNet-50's dry run fits 80 columns a row a line."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import run_netinspect

TERMINAL = {"FORCE_COLOR": "1", "NO_COLOR": "1"}  # rich takes the pipe for a terminal


def _text(*args: str, columns: int, terminal: bool = False) -> str:
    env = {"COLUMNS": str(columns), **(TERMINAL if terminal else {})}
    result = run_netinspect(*args, env=env)
    assert result.code == 0, result.err
    return re.sub(r"\x1b\[[0-9;]*m", "", result.out)


@pytest.mark.parametrize("config", ["tiny_lm", "rgnet", "lazy_cnn", "tied"])
def test_at_60_columns_params_are_whole_and_lines_fit(config: str) -> None:
    spec = f"configs/{config}.yaml"
    text = _text("params", spec, columns=60)
    doc = json.loads(run_netinspect("params", spec, "-f", "json").out)
    assert "\u2026" not in text  # nothing cut with an ellipsis
    assert all(len(line) <= 60 for line in text.splitlines())
    words = text.split()
    for row in doc["parameters"]:
        assert f"{row['numel']:,}" in words
        # A name wraps only after a dot: the words between dots stay whole.
        assert all(word in text for word in row["name"].split("."))


@pytest.mark.parametrize("config", ["tiny_lm", "rgnet", "lazy_cnn", "tied"])
def test_at_60_columns_a_dry_run_keeps_every_number(config: str) -> None:
    spec = f"configs/{config}.yaml"
    text = _text("dry-run", spec, "--no-fold", columns=60)
    doc = json.loads(run_netinspect("dry-run", spec, "-f", "json").out)
    assert "\u2026" not in text
    words = set(text.split())
    for call in doc["layers"]:
        for number in (call["params"], call["flops"]):
            assert not number or f"{number:,}" in words


def test_a_resnet50_dry_run_fits_80_columns_with_its_four_stages() -> None:
    args = ("dry-run", "tests.models.resnet:resnet50", "--allow-import", "-i", "2x3x224x224")
    shown = _text(*args, columns=80, terminal=True)
    lines = shown.splitlines()
    assert all(len(line.rstrip()) <= 80 for line in lines)
    table = lines[4 : lines.index("", 4)]
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        row = next(line for line in table if f"({stage}): Sequential" in line)
        assert re.search(r"\d[\d,]+\s+[\d,]+$", row)  # its params and FLOPs on its line
    assert "(1\u20135): 5 \u00d7 Bottleneck" in shown
    assert "25,557,032" in shown
    assert "Calls deeper than 2 are summed into the rows above them" in shown
    every = _text(*args, "--all", columns=80, terminal=True)
    assert "(downsample): Sequential" in every
    assert all(len(line.rstrip()) <= 80 for line in every.splitlines())
