"""Regenerate docs/report.png, the README's picture of `netinspect report`: the report of
configs/tiny_lm.yaml opened in headless Chromium (the system's, driven by Playwright), a
block expanded and the embedding's block hovered in the map, as a person would leave it. Run by
`make screenshot`; needs Chromium (apt-get install chromium)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.chromium import CHROMIUM_ARGS, chromium_path, why_no_browser  # noqa: E402


def main() -> None:
    why = why_no_browser()
    if why:
        sys.exit(f"screenshot: {why}")
    from playwright.sync_api import sync_playwright

    netinspect = str(Path(sys.executable).parent / "netinspect")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        page_file = Path(tmp) / "tiny_lm.html"
        subprocess.run([netinspect, "report", "configs/tiny_lm.yaml", "-o", str(page_file)],
                       check=True, cwd=ROOT)  # fmt: skip
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900}, device_scale_factor=1)
        page.goto(page_file.as_uri())
        page.wait_for_selector("body[data-ready='1']")
        page.click(".row[data-index='3'] .toggle")  # layers.0
        page.evaluate("() => window.scrollTo(0, 0)")  # the click scrolled the row into view
        # layers.0.1 in the map, under the mouse (hover() would scroll): its row lights up.
        box = page.eval_on_selector(
            ".cell[data-index='5']",
            "c => { const r = c.getBoundingClientRect(); return [r.x + r.width / 2, r.y + 30]; }",
        )
        page.mouse.move(box[0], box[1])
        out = ROOT / "docs" / "report.png"
        page.screenshot(path=str(out))
        browser.close()
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
