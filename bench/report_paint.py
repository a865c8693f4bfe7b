"""The HTML report of a 12,000-layer model in a real browser, against the report of a small
one, in the same run: does the big one open and stay responsive?

``netinspect report --no-memory`` writes both pages (bench/specs/deep.yaml: 12,000 layers,
14,001 modules; configs/tiny_lm.yaml: 15 modules); headless Chromium (the system's, driven
by Playwright) opens each from disk ``--repeat`` times in a fresh page, and the page says
(``window.netinspectTimings``, measured by report.js itself):

- paint: the browser's first contentful paint (the page's headings);
- ready: from navigation until the totals, treemap and first rows are drawn;
- total: its script's share of that, and of it the JSON parse and the treemap;
- expand: the click that opens every block, until its rows are drawn;
- search: filtering the rows by a text, until the matches are drawn.

Printed side by side, with the big page's ready time over the small page's, and the
slowest interaction on the big page (target: under 100 ms, what people feel as instant).
Usage: ``.venv/bin/python bench/report_paint.py [--repeat N]`` (part of ``make bench``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.chromium import CHROMIUM_ARGS, chromium_path, why_no_browser  # noqa: E402

NETINSPECT = str(Path(sys.executable).parent / "netinspect")
PAGES = {"tiny_lm (15 modules)": ROOT / "configs" / "tiny_lm.yaml",
         "deep (14,001 modules)": ROOT / "bench" / "specs" / "deep.yaml"}  # fmt: skip
COLUMNS = ["written", "paint", "ready", "total", "parse", "treemap", "expand", "search"]


def write_report(spec: Path, out: Path) -> float:
    """Milliseconds ``netinspect report`` took, the process's start included."""
    start = time.perf_counter()
    subprocess.run([NETINSPECT, "report", str(spec), "-o", str(out), "--no-memory"], check=True,
                   capture_output=True)  # fmt: skip
    return (time.perf_counter() - start) * 1000


def measure(browser: Any, page_file: Path, search: str) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(page_file.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    page.click("#expand")
    page.fill("#search", search)
    while "match" not in page.inner_text("#count"):
        time.sleep(0.01)
    found: dict[str, float] = page.evaluate(
        """() => {
          const paint = performance.getEntriesByName("first-contentful-paint")[0];
          return {paint: paint ? paint.startTime : NaN, ready: window.netinspectReady,
                  ...window.netinspectTimings};
        }"""
    )
    page.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    why = why_no_browser()
    if why:
        sys.exit(f"report_paint: {why}")
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for label, spec in PAGES.items():
            out = Path(tmp) / f"{spec.stem}.html"
            written = write_report(spec, out)
            runs = [measure(browser, out, "linear") for _ in range(args.repeat)]
            results[label] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            results[label]["written"] = written
            results[label]["bytes"] = out.stat().st_size
        browser.close()
    small, big = (results[label] for label in PAGES)
    print(f"report in Chromium, median of {args.repeat}, in ms (page size in KiB)")
    print(f"{'':24}{'KiB':>6}" + "".join(f"{c:>9}" for c in COLUMNS))
    for label, r in results.items():
        print(f"{label:24}{r['bytes'] / 1024:6.0f}" + "".join(f"{r[c]:9.1f}" for c in COLUMNS))
    print(f"ready, deep over tiny: {big['ready'] / small['ready']:.2f}x; "
          f"first paint {big['paint'] / small['paint']:.2f}x")  # fmt: skip
    slowest = max(big["expand"], big["search"])
    print(f"slowest interaction on the deep page: {slowest:.1f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
