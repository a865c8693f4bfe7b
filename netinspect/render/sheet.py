"""Tables and trees for people, laid out by rich, or by a few string joins when they can be.

rich lays a 50,000-row table out in half a minute and a 50,000-node tree in seven seconds
(it measures, wraps and styles every cell), while a pipe or a file wants plain text with no
styles. :class:`Sheet` and :class:`TreeSheet` hold what is shown; as rich renderables
(``__rich__``) they become a rich ``Table`` or ``Tree``, as before; :meth:`Sheet.plain` and
:meth:`TreeSheet.plain` write the same characters rich would for unstyled output, in
milliseconds, and return None whenever rich would do more than pad (a cell to wrap, a line
wider than the console, a character wider than one cell, a console without UTF-8 guides),
so the caller falls back to rich. A test holds the two to the same text for every golden
output and for random tables and trees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich import box
from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.style import StyleType
from rich.table import Table
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
    fold: bool = False  # long names fold onto the next line instead of being cut


@dataclass
class Sheet:
    """A titled table with a header rule and no outer border, then lines of text."""

    title: str
    columns: Sequence[Column]
    rows: list[Sequence[Cell]] = field(default_factory=list)
    after: Text | None = None  # the totals and notes printed under the table

    def __rich__(self) -> RenderableType:
        table = Table(box=box.SIMPLE_HEAD, title=self.title, title_justify="left", pad_edge=False)
        for c in self.columns:
            table.add_column(
                c.header,
                justify="right" if c.right else "left",
                style=c.style,
                overflow="fold" if c.fold else "ellipsis",
            )
        for row in self.rows:
            table.add_row(*row)
        return Group(table, self.after) if self.after is not None else table

    def plain(self, width: int) -> str | None:
        """The text rich writes for this sheet without styles, or None where rich would
        have to wrap or fold (then ask rich)."""
        texts = [[_plain(cell) for cell in row] for row in self.rows]
        widths = [len(c.header) for c in self.columns]
        for row in texts:
            if len(row) != len(widths):
                return None
            for i, cell in enumerate(row):
                if not _narrow(cell):
                    return None
                widths[i] = max(widths[i], len(cell))
        inner = sum(widths) + 3 * (len(widths) - 1)
        total = inner + 2
        if total > width or len(self.title) > total or not _narrow(self.title) or 0 in widths:
            return None
        if not all(_narrow(c.header) for c in self.columns):
            return None
        right = [c.right for c in self.columns]

        def line(cells: Sequence[str]) -> str:
            padded = (
                cell.rjust(w) if r else cell.ljust(w)
                for cell, w, r in zip(cells, widths, right, strict=True)
            )
            return " " + "   ".join(padded) + " "

        lines = [self.title.ljust(total)] if self.title else []
        lines.append(" " * total)
        lines.append(line([c.header for c in self.columns]))
        lines.append(" " + "─" * inner + " ")
        lines.extend(line(row) for row in texts)
        lines.append(" " * total)
        text = "\n".join(lines) + "\n"
        if self.after is not None:
            after = self.after.plain
            if not all(_narrow(x) and len(x) <= width for x in after.split("\n") if x):
                return None
            text += after + "\n"
        return text


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
