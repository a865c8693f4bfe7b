"""The diagrams as text, read back by the real tools: Graphviz's dot parses and draws every
DOT we write, and Mermaid itself (in headless Chromium) parses and draws every flowchart.
Names a user controls (a Python target's module names) stay text in both."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
import torch
from torch import nn

import netinspect
from netinspect.analysis.dryrun import dry_run
from netinspect.analysis.graph import Graph, graph
from netinspect.render.graph import (
    dot,
    mermaid,
    mermaid_markdown,
    mermaid_over_github,
    node_lines,
)
from tests.chromium import MERMAID_JS, why_no_dot, why_no_mermaid
from tests.conftest import CONFIG_NAMES, CONFIGS, check_golden, need

HOSTILE = 'a "quoted" <b>x</b> #35; \\N `tick` end'


def _config_graph(name: str, depth: int | None = None) -> Graph:
    model = netinspect.build(netinspect.load(str(CONFIGS / f"{name}.yaml")))
    return netinspect.graph(model, netinspect.example_run(model), depth=depth)


def _hostile_graph() -> Graph:
    """Module names no spec can hold but a Python target can: quotes, markup, escapes."""
    model = nn.Sequential()
    model.add_module(HOSTILE, nn.Linear(2, 3))
    model.add_module("end", nn.ReLU())  # a Mermaid keyword as a name
    model.add_module("subgraph", nn.Linear(3, 1))
    return graph(model, 'model "x"', dry_run(model, torch.zeros(4, 2)))


CASES = [*((n, None) for n in CONFIG_NAMES), ("rgnet", 1), ("tiny_lm", 2), ("huge", 1)]
# GitHub's Mermaid refuses the huge config's 400 nodes whole (see the test of that limit).
DRAWN = [case for case in CASES if case != ("huge", None)]


@pytest.mark.parametrize("name", ["tiny_lm", "tied", "rgnet"])
def test_mermaid_and_dot_goldens(name: str, update_golden: bool) -> None:
    g = _config_graph(name)
    check_golden(f"graph_{name}.mmd", mermaid(g), update_golden)
    check_golden(f"graph_{name}.dot", dot(g), update_golden)


def test_mermaid_labels_hold_no_raw_markup() -> None:
    text = mermaid(_hostile_graph())
    for label in re.findall(r'\["(.*?)"\]', text):
        assert '"' not in label
        assert "<" not in label.replace("<br/>", "")
    assert "#quot;quoted#quot;" in text
    assert mermaid_markdown(text) == f"```mermaid\n{text}```\n"


def test_node_labels_say_shapes_params_and_sharing() -> None:
    g = _config_graph("tied")
    shared = next(n for n in g.nodes() if n.shared)
    assert node_lines(shared) == [
        "2: Linear",
        "in_features=8, out_features=8, bias=True",
        "[2, 8] \u2192 [2, 8]",
        "72 params",
        "shared: used at 2, 4",
    ]


def _dot_svg(text: str) -> str:
    need(why_no_dot())
    dot_program = shutil.which("dot")
    assert dot_program is not None
    done = subprocess.run(
        [dot_program, "-Tsvg"], input=text, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert not done.stderr, done.stderr  # no syntax warnings either
    return done.stdout


@pytest.mark.parametrize(("name", "depth"), CASES)
def test_dot_parses_and_draws_every_node(name: str, depth: int | None) -> None:
    g = _config_graph(name, depth)
    svg = _dot_svg(dot(g))
    titles = re.findall(r"<title>(.*?)</title>", svg)
    assert {n.id for n in g.nodes()} | {"input", "output"} <= set(titles)
    assert len(re.findall(r'class="edge"', svg)) == len(g.edges) + len(g.ties)


def test_dot_keeps_hostile_names_as_text() -> None:
    svg = _dot_svg(dot(_hostile_graph()))
    assert "a &quot;quoted&quot; &lt;b&gt;x&lt;/b&gt; #35; \\N `tick` end: Linear" in svg


# -- Mermaid, in the browser ------------------------------------------------------------------
@pytest.fixture(scope="module")
def mermaid_page(browser: Any) -> Any:
    need(why_no_mermaid())
    page = browser.new_page()
    page.set_content("<!DOCTYPE html><html><body></body></html>")
    page.add_script_tag(path=str(MERMAID_JS))
    page.evaluate("mermaid.initialize({startOnLoad: false, securityLevel: 'strict'})")
    yield page
    page.close()


_RENDER = """async (text) => {
  await mermaid.parse(text);  // throws on a syntax error
  const {svg} = await mermaid.render("drawn" + Math.random().toString(36).slice(2), text);
  const box = document.createElement("div");
  box.innerHTML = svg;
  return {
    nodes: [...box.querySelectorAll("g.node")].map((n) => n.textContent),
    clusters: [...box.querySelectorAll("g.cluster")].map((c) => c.textContent),
    edges: box.querySelectorAll("path.flowchart-link").length,
    // Mermaid draws its refusals as a diagram: an error icon, or one node saying why.
    error: box.querySelector(".error-text, .error-icon") || !box.querySelector("g.node") ||
      box.textContent.includes("Maximum text size") ? box.textContent : null,
  };
}"""


@pytest.mark.parametrize(("name", "depth"), DRAWN)
def test_mermaid_parses_and_draws_every_node(
    mermaid_page: Any, name: str, depth: int | None
) -> None:
    g = _config_graph(name, depth)
    drawn = mermaid_page.evaluate(_RENDER, mermaid(g))
    assert drawn["error"] is None
    nodes = list(g.nodes())
    assert len(drawn["nodes"]) == len(nodes) + 2  # and input, output
    for node, text in zip(nodes, drawn["nodes"][1:], strict=False):
        assert text.startswith(node_lines(node)[0])
    assert drawn["edges"] == len(g.edges) + len(g.ties)


def test_mermaid_draws_hostile_names_as_text(mermaid_page: Any) -> None:
    drawn = mermaid_page.evaluate(_RENDER, mermaid(_hostile_graph()))
    assert drawn["error"] is None
    assert drawn["nodes"][1].startswith(f"{HOSTILE}: Linear")
    assert [t.split(":")[0] for t in drawn["nodes"][2:4]] == ["end", "subgraph"]


def test_the_limit_we_warn_of_is_mermaids_own(mermaid_page: Any) -> None:
    """What `graph` warns of (GitHub's Mermaid shows an error instead) is what Mermaid does
    with its default limits; folded with --depth, the same model draws."""
    g = _config_graph("huge")
    text = mermaid(g)
    assert mermaid_over_github(text, len(g.edges)) is not None
    drawn = mermaid_page.evaluate(_RENDER, text)
    assert drawn["error"] is not None
    assert "Maximum text size" in drawn["error"]
    folded = _config_graph("huge", 1)
    assert mermaid_over_github(mermaid(folded), len(folded.edges)) is None
