"""The report (``analysis.report``) as one self-contained HTML file.

The page is this module's template with the stylesheet and script of ``assets/`` inlined
and the model as a JSON block: no request leaves the page when it opens (its Content
Security Policy forbids any), so it works from disk, offline, attached to a CI run. The
script is plain JavaScript written for this page; no third-party code is bundled.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

from netinspect import __version__
from netinspect.analysis.report import ModelReport, Row
from netinspect.render.units import count, printable, shape, si, size

_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="netinspect {version}">
<title>{title}</title>
<style>
{css}</style>
</head>
<body>
<h1>{title}</h1>
<div id="totals"></div>
<ul class="notes" id="notes"></ul>
<h2>Parameters by block (ties counted once; click a block to find its row)</h2>
<div id="treemap"></div>
<div id="status"></div>
<div id="mapnote" class="notes"></div>
<h2>Blocks</h2>
<div id="bar">
<input id="search" type="search" placeholder="Filter by name or type" aria-label="Filter rows">
<button id="expand" type="button">Expand all</button>
<button id="collapse" type="button">Collapse</button>
<span id="count"></span>
</div>
<div id="head" class="grid"><span>Name</span><span>Type</span><span>Input &#8594; output</span>\
<span class="num">Params</span><span class="num">%</span><span class="num">FLOPs</span></div>
<div id="tree"><div id="spacer"></div></div>
<footer>Made by netinspect {version} from {source}. Opens offline: nothing here is fetched.</footer>
<script type="application/json" id="netinspect-data">{data}</script>
<script>
{js}</script>
</body>
</html>
"""


def _asset(name: str) -> str:
    return resources.files("netinspect.render").joinpath(f"assets/{name}").read_text("utf-8")


def report_html(report: ModelReport, source: str) -> str:
    """The whole page. Text from the model is escaped twice over: the JSON block cannot
    end its script element (``<``, ``>`` and ``&`` are written as ``\\u`` escapes), and
    the script puts every name into the page as text, never as markup."""
    title = f"{printable(report.model)}: netinspect report"
    return _PAGE.format(
        policy=_POLICY,
        version=__version__,
        title=html.escape(title),
        css=_asset("report.css"),
        source=html.escape(printable(source)),
        data=_script_json(report_data(report)),
        js=_asset("report.js"),
    )


def _script_json(doc: dict[str, Any]) -> str:
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, code)
    # U+2028 and U+2029 end a line in old JavaScript parsers; JSON allows them raw.
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def report_data(report: ModelReport) -> dict[str, Any]:
    """What the page's script reads: totals and notes as text, rows as arrays."""
    return {
        "model": report.model,
        "total": report.params.total,
        "totals": _totals(report),
        "notes": _notes(report),
        "rows": [_row(row) for row in report.rows],
        "ties": _tie_rows(report),
    }


def _tie_rows(report: ModelReport) -> list[list[int]]:
    """For each tensor known by several names, the rows of the distinct modules holding it
    (at each one's first place): hovering one lights the others."""
    row_of: dict[str, int] = {}
    for index, row in enumerate(report.rows):
        row_of.setdefault(row.path, index)
    groups = []
    for names in report.ties:
        owners = dict.fromkeys(row_of[name.rpartition(".")[0]] for name in names)
        modules = dict.fromkeys(report.rows[i].module for i in owners)
        if len(modules) > 1:  # one shared module: its places light up already
            groups.append(list(owners))
    return groups


def _row(row: Row) -> list[Any]:
    """[parent, depth, name, path, type, args, params, own, module, places, lazy, tied,
    shapes, flops]: the order report.js reads."""
    shapes = "" if row.input is None and row.output is None else (
        f"{shape(row.input)} \u2192 {shape(row.output)}"
    )  # fmt: skip
    return [
        row.parent, row.depth, printable(row.name), printable(row.path), row.type,
        printable(row.args), row.params, row.own, row.module, row.places, int(row.lazy),
        ", ".join(printable(t) for t in row.tied), shapes, row.flops,
    ]  # fmt: skip


def _totals(report: ModelReport) -> list[list[str]]:
    p = report.params
    out = [
        ["Parameters", f"{count(p.total)} ({si(p.total).strip()})"],
        ["Trainable", count(p.trainable)],
        ["Parameter bytes", size(p.bytes)],
    ]
    if p.buffers:
        out.append(["Buffers", f"{count(p.buffers)} ({size(p.buffer_bytes)})"])
    run = report.run
    if run is not None:
        inputs = ", ".join(
            f"{i.name}={shape(i.shape)}" if i.name else shape(i.shape) for i in run.inputs
        )
        out += [
            ["Input", inputs],
            ["Output", shape(run.output) if run.output is not None else "no tensor"],
            ["FLOPs (forward)", f"{count(run.flops)} ({si(run.flops).strip()})"],
        ]
    memory = report.memory
    if memory is not None and memory.training is not None:
        steady = memory.training.steady
        settings = memory.settings
        out.append(
            [
                f"Training step peak ({settings.optimizer}, {settings.target})",
                f"{size(steady.peak)} (at {steady.peak_phase})",
            ]
        )
    if memory is not None:
        inference = memory.parameters + memory.input + memory.inference_peak
        out.append(["Inference peak (no grad)", size(inference)])
    out.append(["Modules", count(len(report.rows))])
    return out


def _notes(report: ModelReport) -> list[str]:
    notes = []
    if report.memory_note:
        notes.append(f"Memory: {report.memory_note}.")
    if report.run is None:
        notes.append("No shapes or FLOPs: the model was not run (no example input).")
    lazy = report.params.uninitialized
    if lazy:
        notes.append(f"{lazy} lazy parameters have no shape yet and count 0.")
    for names in report.ties:
        notes.append(f"One tensor, several names (counted once): {', '.join(names)}.")
    if report.run is not None and report.run.uncounted:
        notes.append(f"FLOPs not counted for: {', '.join(report.run.uncounted)}.")
    return [printable(n) for n in notes]
