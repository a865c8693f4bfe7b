"""Tables and trees for people: sheets laid out here, trees by rich or by string joins.

A :class:`Sheet` (a table) lays itself out for the console's width, styled on a terminal
and plain for a pipe or a file, in milliseconds for 50,000 rows (rich's ``Table`` took
half a minute, and cut numbers it could not fit). A :class:`TreeSheet` becomes rich's
``Tree`` on a terminal; :meth:`TreeSheet.plain` writes the same characters rich would for
unstyled output and returns None whenever rich would do more than pad (a label to wrap, a
character wider than one cell, a console without UTF-8 guides), so the caller falls back to
rich. A test holds the two to the same text for random trees.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.style import StyleType
from rich.text import Text
from rich.tree import Tree

Cell = str | Text


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def _narrow(text: str) -> bool:
    """Every character is visible and takes one cell: no CJK, emoji, combining marks, tabs
    or line breaks, which rich measures and wraps its own way; and no trailing space, which
    rich trims."""
    return (
        text.isprintable()
        and not text.endswith(" ")
        and (text.isascii() or cell_len(text) == len(text))
    )


@dataclass(frozen=True)
class Column:
    header: str
    right: bool = False  # numbers are right-justified
    style: StyleType = ""
    fold: bool = False  # wraps between words and after dots when the sheet must narrow
    drop: int = 0  # 0: always shown; others are left out to fit, the highest first


Segment = tuple[str, StyleType]  # a piece of a line, and its style on a terminal
GAP, NARROW_GAP = 3, 2  # spaces between columns, and where the sheet must narrow


@dataclass
class Sheet:
    """A titled table with a header rule and no outer border, then lines of text.

    Laid out here rather than by rich's ``Table``, which cuts a number it cannot fit
    (``2,048,…``) and folds a name mid-word: a sheet too wide for the console first
    closes its column gaps to two spaces, then leaves out columns marked ``drop`` (the
    highest first), then wraps ``fold`` columns between words and after dots. Numbers and
    shapes are never broken; where even that cannot fit, lines run past the width and the
    terminal wraps them. ``gap`` is a line shown after that many rows (the "... more rows"
    of a long table), which spans the columns rather than widening the first.
    """

    title: str
    columns: Sequence[Column]
    rows: list[Sequence[Cell]] = field(default_factory=list)
    after: Text | None = None  # the totals and notes printed under the table
    gap: tuple[int, Text] | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines(options.max_width):
            text = Text(no_wrap=True, overflow="ignore")
            for piece, style in line:
                text.append(piece, style)
            yield text

    def plain(self, width: int) -> str:
        """The sheet as plain text, no styles, each line without trailing spaces."""
        return "".join("".join(p for p, _ in line).rstrip(" ") + "\n" for line in self.lines(width))

    def lines(self, width: int) -> list[list[Segment]]:
        """The title, the table laid out within ``width``, then the text after it."""
        cells = [[_plain(c) for c in row] for row in self.rows]
        shown, widths, gap = _fit(self.columns, cells, width)
        columns = [self.columns[i] for i in shown]
        inner = sum(widths) + gap * (len(shown) - 1)
        out: list[list[Segment]] = [[(self.title, "italic")]] if self.title else []
        out.append([])
        out += self._row([c.header for c in columns], columns, widths, gap, "bold")
        out.append([(" " + "\u2500" * inner, "")])
        for index, row in enumerate(self.rows):
            if self.gap is not None and self.gap[0] == index:
                out.append([(" ", ""), (self.gap[1].plain, self.gap[1].style)])
            picked = [row[i] for i in shown]
            out += self._row(picked, columns, widths, gap)
        if self.gap is not None and self.gap[0] >= len(self.rows):
            out.append([(" ", ""), (self.gap[1].plain, self.gap[1].style)])
        out.append([])
        if self.after is not None:
            for line in self.after.plain.split("\n"):
                out += [[(piece, self.after.style)] for piece in _wrap_words(line, width)]
        return out

    @staticmethod
    def _row(
        row: Sequence[Cell],
        columns: Sequence[Column],
        widths: Sequence[int],
        gap: int,
        header: StyleType = "",
    ) -> list[list[Segment]]:
        """One row as one or more lines: a folded cell continues on the next lines."""
        parts: list[list[str]] = []
        for cell, column, w in zip(row, columns, widths, strict=True):
            text = _plain(cell)
            parts.append(_fold(text, w) if column.fold and cell_len(text) > w else [text])
        lines = []
        for n in range(max(len(p) for p in parts) if parts else 1):
            line: list[Segment] = [(" ", "")]
            for i, (cell, column, w) in enumerate(zip(row, columns, widths, strict=True)):
                text = parts[i][n] if n < len(parts[i]) else ""
                pad = " " * max(0, w - cell_len(text))
                style = header or _style(cell, column)
                line += [(pad, ""), (text, style)] if column.right else [(text, style), (pad, "")]
                if i < len(columns) - 1:
                    line.append((" " * gap, ""))
            lines.append(line)
        return lines


def _style(cell: Cell, column: Column) -> StyleType:
    if isinstance(cell, Text) and cell.style:
        return cell.style
    return column.style


def _fit(
    columns: Sequence[Column], cells: list[list[str]], width: int
) -> tuple[list[int], list[int], int]:
    """Which columns show, how wide, and the gap between them, to fit ``width``: see
    :class:`Sheet`."""
    natural = [cell_len(c.header) for c in columns]
    for row in cells:
        for i, text in enumerate(row):
            natural[i] = max(natural[i], cell_len(text))
    shown = list(range(len(columns)))

    def total(gap: int, widths: Sequence[int]) -> int:
        return sum(widths) + gap * (len(widths) - 1) + 2

    gap = GAP
    if total(gap, natural) > width:
        gap = NARROW_GAP
    droppable = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop)
    while droppable and total(gap, [natural[i] for i in shown]) > width:
        shown.remove(droppable.pop()[1])
    widths = [natural[i] for i in shown]
    excess = total(gap, widths) - width
    for k, i in enumerate(shown):
        if excess <= 0:
            break
        if columns[i].fold:
            least = max(
                [_longest_piece(columns[i].header)] + [_longest_piece(row[i]) for row in cells]
            )
            cut = min(excess, widths[k] - least)
            if cut > 0:
                widths[k] -= cut
                excess -= cut
    return shown, widths, gap


# Where a cell may break: between its parts first, after ": " and ", " and before a mark
# (``(block 0):`` ``Sequential``, ``a.weight,`` ``b.weight``, ``Linear`` ``[tied]``); then,
# in a part still too wide, after a dot (``layers.0.`` ``weight``). Never inside a word,
# a number, or ``2 x Block``.
_PARTS = re.compile(r"(?<=[:,] )|(?= \[)")
_BREAK = re.compile(r"(?<=[:,] )|(?= \[)|(?<=\.)(?=\S)")


def _longest_piece(text: str) -> int:
    """The narrowest a folded cell can be: its indentation and first word, or its longest
    word."""
    return max((cell_len(p) for p in _BREAK.split(text) if p), default=0)


def _fold(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` cells: broken between parts, then within a
    part after dots (see _PARTS); a word wider than the width stays whole."""
    lines = []
    for line in _fill(text, width, _PARTS, "  "):
        fits = cell_len(line) <= width
        lines += [line] if fits else _fill(line, width, _BREAK, "  ")
    return lines


def _fill(text: str, width: int, breaks: re.Pattern[str], more: str) -> list[str]:
    """``text`` in lines of at most ``width`` cells, broken only where ``breaks`` allows;
    continuation lines keep its indentation, and add ``more`` where that leaves room."""
    indent = " " * (len(text) - len(text.lstrip(" ")))
    more = indent + more if len(indent + more) < width // 2 else indent
    lines: list[str] = []
    line = ""
    for piece in (p for p in breaks.split(text) if p):
        if line.strip() and cell_len(line + piece.rstrip(" ")) > width:
            lines.append(line.rstrip(" "))
            line = more + piece.lstrip(" ")
        else:
            line += piece
    lines.append(line.rstrip(" "))
    return lines


_SPACES = re.compile(r"(?<= )")


def _wrap_words(line: str, width: int) -> list[str]:
    """A line of notes under a table, wrapped between words to ``width``, as rich wraps."""
    if cell_len(line) <= width:
        return [line]
    return _fill(line, width, _SPACES, more="")


@dataclass
class Branch:
    label: Text
    children: list[Branch] = field(default_factory=list)


@dataclass
class TreeSheet:
    """A tree of labels, as rich's ``Tree`` draws it (guides dimmed)."""

    root: Branch
    after: Text | None = None  # a footer under the tree

    def __rich__(self) -> RenderableType:
        tree = Tree(self.root.label, guide_style="dim")
        stack: list[tuple[Tree, Branch]] = [(tree, self.root)]
        while stack:  # no recursion: a tree may be as deep as the depth limit allows
            node, branch = stack.pop()
            for child in branch.children:
                stack.append((node.add(child.label), child))
        return tree if self.after is None else Group(tree, Text(), self.after)

    def plain(self, width: int) -> str | None:
        lines: list[str] = []
        # (branch, prefix of its children, its own guide)
        stack: list[tuple[Branch, str, str]] = [(self.root, "", "")]
        while stack:
            branch, prefix, guide = stack.pop()
            label = branch.label.plain
            shown = guide + label
            if not _narrow(label) or len(shown) > width:
                return None
            lines.append(shown)
            children = branch.children
            for i in reversed(range(len(children))):
                last = i == len(children) - 1
                child_guide = prefix + ("└── " if last else "├── ")
                child_prefix = prefix + ("    " if last else "│   ")
                stack.append((children[i], child_prefix, child_guide))
        if self.after is not None:
            footer = self.after.plain.split("\n")
            if not all(_narrow(x) and len(x) <= width for x in footer if x):
                return None  # rich wraps it: ask rich
            lines += ["", *footer]
        return "\n".join(lines) + "\n"
