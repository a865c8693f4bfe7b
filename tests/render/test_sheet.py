"""The plain layout of sheets and trees writes what rich writes, character for character,
whenever it writes anything; otherwise it declines and rich lays the output out."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from netinspect.render.sheet import Branch, Column, Sheet, TreeSheet


def rich_text(renderable: object, width: int) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, force_terminal=False, color_system=None, markup=False, emoji=False
    )  # as the command's consoles are
    console.print(renderable)
    return buffer.getvalue()


CELLS = st.text(
    alphabet=st.sampled_from("ab.[]:, -_·…0123456789xé中\u0301\t"), max_size=12
)  # ASCII, narrow unicode, wide (中), combining (\u0301), a tab
WORDS = st.lists(
    st.text(alphabet=st.sampled_from("abcé中_0123456789"), min_size=1, max_size=8),
    min_size=1,
    max_size=4,
)
NUMBERS = st.integers(0, 10**12).map(lambda n: f"{n:,}")


@st.composite
def sheets(draw: st.DrawFn) -> Sheet:
    """A name column (dotted names, folding), a shape, numbers, and columns that may drop."""
    columns = [Column("Name", fold=True), Column("Shape")]
    columns += [
        Column(f"N{i}", right=True, drop=draw(st.integers(0, 3)))
        for i in range(draw(st.integers(1, 4)))
    ]
    rows: list[list[str | Text]] = []
    for _ in range(draw(st.integers(1, 8))):
        name = ("  " * draw(st.integers(0, 3))) + ".".join(draw(WORDS))
        shape = "[" + ", ".join(str(n) for n in draw(st.lists(st.integers(1, 4096), max_size=4)))
        rows.append([name, shape + "]", *(draw(NUMBERS) for _ in columns[2:])])
    return Sheet(draw(CELLS), columns, rows, draw(st.none() | CELLS.map(Text)))  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(sheets(), st.integers(20, 160))
def test_a_sheet_never_cuts_a_number_or_a_word(sheet: Sheet, width: int) -> None:
    lines = sheet.plain(width).split("\n")
    table = lines[4 if sheet.title else 3 :]
    body = "\n".join(table)
    for row in sheet.rows:
        for cell, column in zip(row, sheet.columns, strict=True):
            text = str(cell)
            if column.fold:  # broken only after a dot: every word stays whole
                for word in text.strip().split("."):
                    assert word in body
            elif f" {text}" in "\n".join(lines) or column.drop:
                continue
            else:
                raise AssertionError(f"{text!r} was cut or left out at width {width}")
    # Wider than the width only when the narrowest layout is: its words and numbers whole.
    least = 2 * (len(sheet.columns) - 1) + 2
    for i, column in enumerate(sheet.columns):
        if not column.drop:
            cells = [str(row[i]) for row in sheet.rows]
            pieces = [w for c in cells for w in c.split(".")] if column.fold else cells
            least += max(len(column.header), *(len(p) + 4 for p in pieces))
    if least <= width:
        assert all(len(line) <= width for line in table if "中" not in line)


def test_a_sheet_drops_then_wraps_to_fit() -> None:
    sheet = Sheet(
        "m",
        [Column("Name", fold=True), Column("Params", right=True), Column("%", right=True, drop=1)],
        [["layers.0.self_attn.in_proj_weight", "2,048,000", "99.5%"]],
    )
    assert (
        sheet.plain(100).splitlines()[2] == " Name                                   Params       %"
    )
    narrow = sheet.plain(30).splitlines()
    assert narrow[2:] == [
        " Name                  Params",
        " " + "\u2500" * 28,
        " layers.0.          2,048,000",
        "   self_attn.",
        "   in_proj_weight",
        "",
    ]


@st.composite
def branches(draw: st.DrawFn, depth: int = 0) -> Branch:
    label = Text(draw(CELLS))
    if depth >= 3:
        return Branch(label)
    children = draw(st.lists(branches(depth + 1), max_size=3))
    return Branch(label, children)


@settings(max_examples=300, deadline=None)
@given(branches(), st.integers(20, 120))
def test_a_tree_s_plain_text_is_rich_s(root: Branch, width: int) -> None:
    tree = TreeSheet(root)
    plain = tree.plain(width)
    if plain is not None:
        assert plain == rich_text(tree, width)


def test_ordinary_trees_take_the_plain_path() -> None:
    tree = TreeSheet(Branch(Text("mlp (Sequential)"), [Branch(Text("(0): Linear()"))]))
    assert tree.plain(100) == rich_text(tree, 100)
