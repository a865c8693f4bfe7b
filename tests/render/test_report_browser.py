"""The report in a real browser: headless Chromium opens the file from disk, and the tests
read the DOM as a person would use the page: expand a block, search, hover the treemap.
Nothing may be fetched: every request the page makes is recorded, and only the file is."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import netinspect
from netinspect.analysis.report import ModelReport
from netinspect.render.html import report_html
from netinspect.render.units import printable
from tests.conftest import CONFIGS, ROOT
from tests.render.test_html import ESCAPE, hostile_report

DEEP = ROOT / "bench" / "specs" / "deep.yaml"


class Opened:
    """A report open in a page, with what the page asked for and complained of."""

    def __init__(self, page: Any, requests: list[str], problems: list[str]) -> None:
        self.page, self.requests, self.problems = page, requests, problems

    def rows(self) -> list[str]:
        """The paths of the rows in the DOM, top to bottom."""
        found: list[str] = self.page.eval_on_selector_all(
            ".row",
            "rows => rows.sort((a, b) => a.offsetTop - b.offsetTop)"
            ".map(r => r.querySelector('.name').title)",
        )
        return found

    def wait(self, condition: str, seconds: float = 10.0) -> None:
        """Poll a JavaScript condition. (Playwright's wait_for_function evaluates strings,
        which the page's own policy forbids, as it should: no eval.)"""
        deadline = time.monotonic() + seconds
        while not self.page.evaluate(f"() => Boolean({condition})"):
            assert time.monotonic() < deadline, f"not true after {seconds} s: {condition}"
            time.sleep(0.02)

    def text(self, selector: str) -> str:
        found: str = self.page.inner_text(selector)
        return found


@pytest.fixture
def open_report(browser: Any, tmp_path: Path) -> Iterator[Any]:
    pages: list[Any] = []

    def open_(made: ModelReport, name: str = "model.html") -> Opened:
        path = tmp_path / name
        path.write_text(report_html(made, name), encoding="utf-8")
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        pages.append(page)
        requests: list[str] = []
        problems: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on(
            "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
        )
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready='1']")
        return Opened(page, requests, problems)

    yield open_
    for page in pages:
        page.close()


def _report(name: str, **options: Any) -> ModelReport:
    return netinspect.report(netinspect.load(str(CONFIGS / f"{name}.yaml")), **options)


def test_the_report_opens_offline_with_its_totals(open_report: Any, tmp_path: Path) -> None:
    made = _report("tiny_lm")
    opened = open_report(made)
    assert opened.requests == [(tmp_path / "model.html").as_uri()]
    assert opened.problems == []
    totals = opened.text("#totals")
    assert "130,560 (130.56 K)" in totals  # params, ties counted once
    assert "8,290,304 (8.29 M)" in totals  # FLOPs
    assert "Training step peak (adamw, cuda)" in totals
    # Two levels open at first: the root, its children, and the children of layers.
    assert opened.rows() == ["tiny_lm", "embed", "layers", "layers.0", "layers.1", "norm", "head"]
    head = next(i for i, r in enumerate(made.rows) if r.path == "head")
    assert "tied: weight = embed.weight" in opened.text(f".row[data-index='{head}']")
    opened.page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_a_block_expands_and_collapses(open_report: Any) -> None:
    opened = open_report(_report("tiny_lm", memory=False))
    opened.page.click(".row[data-index='3'] .toggle")  # layers.0
    assert opened.rows()[3:8] == ["layers.0", *(f"layers.0.{i}" for i in range(4))]
    assert opened.text("#count") == "11 of 15 rows shown"
    opened.page.click(".row[data-index='3'] .toggle")
    assert len(opened.rows()) == 7
    opened.page.click("#expand")
    assert len(opened.rows()) == 15


def test_search_filters_rows_by_name_or_type(open_report: Any) -> None:
    made = _report("tiny_lm", memory=False)
    opened = open_report(made)
    opened.page.fill("#search", "linear")
    opened.wait("document.getElementById('count').textContent.includes('match')")
    linear = [r.path for r in made.rows if r.type == "Linear"]
    assert opened.text("#count") == f"{len(linear)} of 15 rows match"
    matched = opened.page.eval_on_selector_all(
        ".row.match", "rs => rs.map(r => r.querySelector('.name').title)"
    )
    assert matched == linear
    opened.page.fill("#search", "norm")  # by name: the final norm, and by type: LayerNorms
    opened.wait("document.getElementById('count').textContent.startsWith('3 of')")
    opened.page.fill("#search", "")
    opened.wait("document.getElementById('count').textContent.includes('shown')")
    assert len(opened.rows()) == 7


def test_hovering_a_shared_module_shows_its_other_place(open_report: Any) -> None:
    made = _report("tied", memory=False)
    opened = open_report(made)
    first = next(i for i, r in enumerate(made.rows) if r.path == "2")
    other = next(i for i, r in enumerate(made.rows) if r.path == "4")
    opened.page.hover(f".cell[data-index='{first}']")
    assert opened.page.get_attribute(f".row[data-index='{first}']", "class") == "row grid hi"
    assert opened.page.get_attribute(f".row[data-index='{other}']", "class") == "row grid other"
    assert opened.text("#status") == "2: Linear, 72 params (59.5%); shared: also at 4"
    opened.page.hover(".row[data-index='1']")  # a row lights its cell the same way
    assert "hi" in (opened.page.get_attribute(".cell[data-index='1']", "class") or "")


def test_hovering_a_tied_module_lights_the_module_it_is_tied_to(open_report: Any) -> None:
    made = _report("tiny_lm", memory=False)
    opened = open_report(made)
    embed, head = (
        next(i for i, r in enumerate(made.rows) if r.path == p) for p in ("embed", "head")
    )
    opened.page.hover(f".cell[data-index='{embed}']")
    assert opened.page.get_attribute(f".row[data-index='{head}']", "class") == "row grid other"
    assert (
        opened.text("#status") == "embed: Embedding, 64,000 params (49.0%); a tensor tied with head"
    )
    opened.page.hover(f".row[data-index='{head}']")  # the head has no cell: its tensor is embed's
    assert "other" in (opened.page.get_attribute(f".cell[data-index='{embed}']", "class") or "")


def test_hostile_names_are_text_in_the_page(open_report: Any) -> None:
    opened = open_report(hostile_report())
    assert opened.problems == []
    assert opened.page.query_selector_all("img") == []
    assert opened.rows()[1] == printable(ESCAPE)
    assert opened.text(".row[data-index='1'] .name").startswith(printable(ESCAPE))


def test_a_12000_layer_report_opens_with_few_rows_in_the_dom(open_report: Any) -> None:
    """Virtualized: the page holds the rows in view, not 14,001. (Its time to first paint
    is measured by the benchmark, bench/report_paint.py, not asserted here.)"""
    made = netinspect.report(netinspect.load(str(DEEP)), memory=False)
    assert sum(1 for r in made.rows if r.type != "Sequential") == 12_000
    opened = open_report(made)
    assert opened.problems == []
    assert opened.text("#count") == "14,001 of 14,001 rows shown"  # two levels open
    assert len(opened.rows()) < 100
    opened.page.eval_on_selector("#tree", "t => { t.scrollTop = t.scrollHeight; }")
    opened.wait("[...document.querySelectorAll('.row .name')].some(n => n.title === '1999.5')")
    assert len(opened.rows()) < 100
    opened.page.fill("#search", "1999.")
    opened.wait("document.getElementById('count').textContent.startsWith('6 of')")
    assert opened.rows() == ["deep", "1999", *(f"1999.{i}" for i in range(6))]
    # The map draws whole levels within its 3,000 cells: the root and its 2,000 blocks,
    # and says that the 10,000 layers with parameters below are in the tree instead.
    assert opened.page.eval_on_selector_all(".cell", "cs => cs.length") == 2001
    assert opened.text("#mapnote") == (
        "The map shows 2 levels: the next has 10,000 modules, more than it can draw. "
        "The tree below has every one."
    )
