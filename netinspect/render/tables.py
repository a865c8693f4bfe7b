"""Table output for pasting and processing: GitHub markdown and CSV, from the same rows.

Cells hold plain values (exact integers, shapes as ``[8, 4]``), so a CSV is ready for a
spreadsheet and a markdown table for a pull-request comment. No torch, no rich.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from netinspect.render.units import printable

if TYPE_CHECKING:  # reports are plain data: rendering them needs no torch
    from netinspect.analysis.dryrun import DryRunReport
    from netinspect.analysis.params import ParamsReport

Cell = str | int | bool | None
Rows = tuple[list[str], list[list[Cell]]]


def _shape(dims: tuple[int, ...] | None) -> str:
    return "" if dims is None else str(list(dims))


def params_rows(report: ParamsReport) -> Rows:
    header = ["name", "shape", "dtype", "numel", "share", "trainable", "shared_with", "buffer"]
    rows: list[list[Cell]] = [
        [
            r.name,
            _shape(r.shape),
            r.dtype,
            r.numel,
            None if r.share is None else f"{r.share:.6f}",
            r.trainable,
            " ".join(r.shared_with),
            r.buffer,
        ]
        for r in report.rows
    ]
    return header, rows


def dry_run_rows(report: DryRunReport) -> Rows:
    header = ["path", "type", "depth", "input", "output", "params", "flops"]
    rows: list[list[Cell]] = [
        [c.path, c.type, c.depth, _shape(c.input), _shape(c.output), c.params, c.flops]
        for c in report.layers
    ]
    return header, rows


def to_csv(table: Rows) -> str:
    header, rows = table
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def _md(value: Cell) -> str:
    text = (
        ""
        if value is None
        else f"{value:,}"
        if isinstance(value, int) and not isinstance(value, bool)
        else str(value)
    )
    # A cell is one line of a table row: pipes escaped, line breaks and controls written out.
    return printable(text).replace("|", "\\|")


def to_markdown(
    table: Rows, numeric: Sequence[str] = ("numel", "share", "params", "flops", "depth")
) -> str:
    header, rows = table
    align = ["---:" if h in numeric else "---" for h in header]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_md(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
