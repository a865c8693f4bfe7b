"""The real programs that read netinspect's pictures: headless Chromium (driven by
Playwright for Python), Mermaid inside it, and Graphviz's dot.

Each is found on this machine, never downloaded: Playwright's own browser download is not
used (``executable_path`` names the system's Chromium: Debian's ``chromium`` package, which
``.ci/run`` installs). Where one is missing, its tests are skipped with a reason that says
how to get it, and pytest's header says so before the run; with
``NETINSPECT_REQUIRE_BROWSER=1`` (set by ``.ci/run``) a missing one fails them instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MERMAID_JS = ROOT / "tests" / "js" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"

# As the machine's notes say a root, offline headless Chromium must be started: no sandbox
# (root), and none of the background connections a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """``NETINSPECT_CHROMIUM``, else the first Chromium on PATH."""
    given = os.environ.get("NETINSPECT_CHROMIUM")
    if given:
        return given if Path(given).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def why_no_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return (
            "no Chromium on PATH (Debian/Ubuntu: apt-get install chromium; or set "
            "NETINSPECT_CHROMIUM to a Chromium or Chrome binary)"
        )
    return None


def why_no_mermaid() -> str | None:
    if not MERMAID_JS.exists():
        return "Mermaid is not installed under tests/js (npm ci --prefix tests/js; needs npm)"
    return why_no_browser()


def why_no_dot() -> str | None:
    if shutil.which("dot") is None:
        return "Graphviz's dot is not on PATH (Debian/Ubuntu: apt-get install graphviz)"
    return None


def required() -> bool:
    """CI sets this: there a missing reader is a failure, not a skip."""
    return os.environ.get("NETINSPECT_REQUIRE_BROWSER") == "1"


def header() -> list[str]:
    """pytest's header lines: which readers run, and why the others do not."""
    lines = []
    for what, why in (
        ("browser tests (Chromium)", why_no_browser()),
        ("Mermaid tests", why_no_mermaid()),
        ("Graphviz tests", why_no_dot()),
    ):
        lines.append(f"{what}: " + (f"SKIPPED: {why}" if why else "run"))
    return lines


if __name__ == "__main__":  # make test says up front which picture tests run here
    print("\n".join(header()))
