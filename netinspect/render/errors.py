"""How an error looks: one paragraph of text, or the JSON error document. No torch here,
so reporting a bad option or a missing file never waits for torch to import."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from netinspect.errors import NetinspectError
from netinspect.render.units import printable


def error_text(error: NetinspectError) -> Text:
    """One paragraph: ``file:line:col: error: what is wrong. Hint.``"""
    text = Text()
    if error.location:
        text.append(f"{printable(str(error.location))}: ", "bold")
    text.append("error: ", "bold red")
    text.append(printable(error.full_message))
    return text


def error_json(error: NetinspectError) -> dict[str, Any]:
    """The JSON error document: ``{"error": {"message", "file", "line", "column"}}``."""
    loc = error.location
    return {
        "error": {
            "message": error.full_message,
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
        }
    }
