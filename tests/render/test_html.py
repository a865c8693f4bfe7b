"""The report page as a file: self-contained (nothing to fetch, a policy that forbids it),
its data the report's, and names a user controls unable to leave the JSON block."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import torch
from torch import nn

import netinspect
from netinspect.analysis.dryrun import dry_run
from netinspect.analysis.params import params
from netinspect.analysis.report import ModelReport, rows
from netinspect.render.html import report_data, report_html
from netinspect.render.units import printable
from tests.conftest import CONFIGS

ESCAPE = "</script><img src=x onerror=alert(1)>&amp;\u2028"


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _elements(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(page)
    return parser.tags


def hostile_report() -> ModelReport:
    """A Python target's module names can hold anything a string can."""
    model = nn.Sequential()
    model.add_module(ESCAPE, nn.Linear(2, 3))
    run = dry_run(model, torch.zeros(1, 2), "hostile")
    return ModelReport("hostile", rows(model, "hostile", run), params(model), run, None, "x", ())


def test_the_page_fetches_nothing_and_forbids_fetching() -> None:
    page = report_html(netinspect.report(netinspect.load(str(CONFIGS / "tiny_lm.yaml"))), "x")
    tags = _elements(page)
    assert [t for t, a in tags if "src" in a or "href" in a] == []
    assert {t for t, _ in tags} >= {"style", "script"}
    assert not re.search(r"\b(?:https?:)?//", page.split('id="netinspect-data"')[0])
    (policy,) = [a["content"] for t, a in tags if a.get("http-equiv") == "Content-Security-Policy"]
    assert policy is not None
    assert "default-src 'none'" in policy


def test_the_data_block_is_the_report_and_holds_its_names_as_data() -> None:
    made = hostile_report()
    page = report_html(made, "hostile.py")
    block = page.split('<script type="application/json" id="netinspect-data">')[1]
    text, _ = block.split("</script>", 1)
    assert "<" not in text
    assert "\u2028" not in text
    assert json.loads(text) == json.loads(json.dumps(report_data(made)))
    assert json.loads(text)["rows"][1][2] == printable(ESCAPE)  # U+2028 shown as \u2028
    assert page.count("</script>") == 2  # the data block's and the script's own
    assert not any(t == "img" for t, _ in _elements(page))


def test_every_row_is_in_the_data_in_order() -> None:
    made = netinspect.report(netinspect.load(str(CONFIGS / "tied.yaml")), memory=False)
    data = report_data(made)
    assert [r[3] for r in data["rows"]] == [r.path for r in made.rows]
    assert [r[7] for r in data["rows"]] == [r.own for r in made.rows]
    assert data["total"] == made.params.total == 121
    assert ["Parameters", "121 (121)"] in data["totals"]


def test_ties_between_modules_are_rows_to_light_together() -> None:
    tiny = netinspect.report(netinspect.load(str(CONFIGS / "tiny_lm.yaml")), memory=False)
    paths = [r.path for r in tiny.rows]
    assert report_data(tiny)["ties"] == [[paths.index("embed"), paths.index("head")]]
    tied = netinspect.report(netinspect.load(str(CONFIGS / "tied.yaml")), memory=False)
    assert report_data(tied)["ties"] == []  # one shared module: its places light up already
