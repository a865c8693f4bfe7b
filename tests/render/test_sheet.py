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


@st.composite
def sheets(draw: st.DrawFn) -> Sheet:
    columns = [
        Column(draw(CELLS), right=draw(st.booleans()), fold=draw(st.booleans()))
        for _ in range(draw(st.integers(1, 5)))
    ]
    rows: list[list[str | Text]] = [
        [draw(CELLS) for _ in columns] for _ in range(draw(st.integers(0, 6)))
    ]
    after = draw(st.none() | CELLS.map(Text))
    return Sheet(draw(CELLS), columns, rows, after)  # type: ignore[arg-type]


@settings(max_examples=400, deadline=None)
@given(sheets(), st.integers(20, 120))
def test_a_sheet_s_plain_text_is_rich_s(sheet: Sheet, width: int) -> None:
    plain = sheet.plain(width)
    if plain is not None:
        assert plain == rich_text(sheet, width)


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


def test_ordinary_tables_and_trees_take_the_plain_path() -> None:
    sheet = Sheet(
        "mlp",
        [Column("Name"), Column("Params", right=True)],
        [["0.weight", "32"], ["0.bias", "8"]],
        Text("Total params: 40"),
    )
    assert sheet.plain(100) == rich_text(sheet, 100)
    tree = TreeSheet(Branch(Text("mlp (Sequential)"), [Branch(Text("(0): Linear()"))]))
    assert tree.plain(100) == rich_text(tree, 100)
    assert Sheet("t", [Column("x")], [["y" * 200]]).plain(100) is None  # rich would fold it
