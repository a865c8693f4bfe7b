"""Human output pinned by golden files, and every golden table checked for consistency.

Run ``pytest --update-golden`` after an intended change to the text output, then review
the diff of tests/golden/. Output comes from the Typer app with a fixed width
(COLUMNS=100) and no terminal, as a shell pipe sees it.
"""

from __future__ import annotations

import re

import pytest

from netinspect.render import units
from tests.conftest import CONFIG_NAMES, GOLDEN, check_golden, run_in_process

_COUNT = r"[0-9][0-9,]*"
SMALL = [n for n in CONFIG_NAMES if n != "huge"]


def parse_params_table(text: str) -> tuple[list[tuple[str, int | None, list[str]]], int]:
    """(name, numel, shared_with) per row, and the footer's total."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("─")) + 1
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        cells = re.split(r"\s{2,}", line.strip())
        name, _shape, _dtype, numel, _trainable, *shared = cells
        rows.append(
            (
                name,
                None if numel == "-" else int(numel.replace(",", "")),
                ", ".join(shared).split(", ") if shared else [],
            )
        )
    total = re.search(rf"^Total params: ({_COUNT})$", text, re.M)
    assert total, "no footer"
    return rows, int(total.group(1).replace(",", ""))


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_params_golden(name: str, update_golden: bool) -> None:
    result = run_in_process("params", f"configs/{name}.yaml")
    assert result.code == 0, result.err
    check_golden(f"params_{name}.txt", result.out, update_golden)


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_tree_golden(name: str, update_golden: bool) -> None:
    result = run_in_process("tree", f"configs/{name}.yaml")
    assert result.code == 0, result.err
    check_golden(f"tree_{name}.txt", result.out, update_golden)


@pytest.mark.parametrize("name", SMALL)
def test_dry_run_golden(name: str, update_golden: bool) -> None:
    result = run_in_process("dry-run", f"configs/{name}.yaml")
    assert result.code == 0, result.err
    check_golden(f"dry_run_{name}.txt", result.out, update_golden)


@pytest.mark.parametrize("name", ["tied", "tiny_lm"])
def test_shared_golden(name: str, update_golden: bool) -> None:
    result = run_in_process("shared", f"configs/{name}.yaml")
    assert result.code == 0, result.err
    check_golden(f"shared_{name}.txt", result.out, update_golden)


@pytest.mark.parametrize("name", SMALL)
def test_golden_dry_run_root_equals_totals(name: str) -> None:
    text = (GOLDEN / f"dry_run_{name}.txt").read_text()
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("─")) + 1
    root = re.split(r"\s{2,}", lines[start].strip())  # layer, input, output, params, %, flops
    params, share = root[3], root[4]
    flops = root[5] if len(root) == 6 else "0"
    assert share == "100.0%"
    total = re.search(rf"^Total params: ({_COUNT})$", text, re.M)
    total_flops = re.search(rf"^Total FLOPs: ({_COUNT})", text, re.M)
    assert total
    assert total_flops
    assert params.replace(",", "") == total.group(1).replace(",", "")
    assert flops.replace(",", "") == total_flops.group(1).replace(",", "")


@pytest.mark.parametrize("name", ["tied", "tiny_lm"])
def test_golden_shared_saved_column_sums_to_the_footer(name: str) -> None:
    text = (GOLDEN / f"shared_{name}.txt").read_text()
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("─")) + 1
    saved = 0
    for line in lines[start:]:
        if not line.strip():
            break
        saved += int(re.split(r"\s{2,}", line.strip())[-1].replace(",", ""))
    footer = re.search(rf"ties save ({_COUNT}) parameters", text)
    assert footer
    assert saved == int(footer.group(1).replace(",", ""))


def test_init_golden(update_golden: bool) -> None:
    result = run_in_process("init", "configs/tied.yaml", "--scheme", "kaiming", "--seed", "0")
    assert result.code == 0, result.err
    check_golden("init_tied.txt", result.out, update_golden)


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_golden_params_rows_sum_to_the_footer(name: str) -> None:
    rows, total = parse_params_table((GOLDEN / f"params_{name}.txt").read_text())
    seen: set[str] = set()
    distinct_sum = 0
    for row_name, numel, shared in rows:
        if numel is not None and not (set(shared) & seen):  # a tied tensor counts once
            distinct_sum += numel
        seen.add(row_name)
    assert distinct_sum == total


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_golden_tree_root_equals_params_total(name: str) -> None:
    tree_text = (GOLDEN / f"tree_{name}.txt").read_text()
    _, total = parse_params_table((GOLDEN / f"params_{name}.txt").read_text())
    root = tree_text.splitlines()[0]
    match = re.search(rf"· ({_COUNT}) params", root)
    assert (int(match.group(1).replace(",", "")) if match else 0) == total


def test_tree_golden_shows_depth_cut(update_golden: bool) -> None:
    result = run_in_process("tree", "configs/rgnet.yaml", "--depth", "1")
    check_golden("tree_rgnet_depth1.txt", result.out, update_golden)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (676, "676 B"),
        (1536, "1.50 KiB"),
        (522240, "510.00 KiB"),
        (280 * 2**30, "280.00 GiB"),
    ],
)
def test_sizes_are_binary_units(n: int, text: str) -> None:
    assert units.size(n) == text


# 91 calls (the root, 30 blocks, 60 layers), 60 parameters
LONG = "input: [2, 4]\nmodel:\n  - repeat: 30\n    layer: [{Linear: [4, 4]}, ReLU]\n"


def _long(*args: str, terminal: bool) -> str:
    from tests.conftest import run_netinspect

    # FORCE_COLOR makes rich treat the pipe as a terminal; NO_COLOR keeps colours out.
    env = {"FORCE_COLOR": "1", "NO_COLOR": "1"} if terminal else {}
    # Every call, one row each, and all of them (a terminal otherwise shows a shallower view).
    fold = ("--no-fold", "--depth", "2") if args[0] == "dry-run" else ()
    result = run_netinspect(*args, "-", *fold, stdin=LONG, env=env)
    assert result.code == 0, result.err
    return re.sub(r"\x1b\[[0-9;]*m", "", result.out)  # bold stays under NO_COLOR


@pytest.mark.parametrize(("command", "rows"), [("dry-run", 91), ("params", 60)])
def test_long_tables_show_first_and_last_rows_on_a_terminal(command: str, rows: int) -> None:
    from netinspect.render.text import ROW_HEAD, ROW_TAIL

    hidden = rows - ROW_HEAD - ROW_TAIL
    capped = _long(command, terminal=True)
    assert f"… {hidden} more rows (--all shows them)" in capped
    every = _long(command, "--all", terminal=True)
    piped = _long(command, terminal=False)
    assert "more rows" not in every
    assert "more rows" not in piped
    # The same first and last rows, the same totals; only the middle is counted instead.
    full, cut = _cells(every), _cells(capped)
    assert len(full) == rows
    assert len(cut) == ROW_HEAD + 1 + ROW_TAIL
    assert cut[:ROW_HEAD] == full[:ROW_HEAD]
    assert cut[-ROW_TAIL:] == full[-ROW_TAIL:]
    totals = [line for line in every.splitlines() if line.startswith("Total")]
    assert totals == [line for line in capped.splitlines() if line.startswith("Total")]
    if command == "params":
        parsed_rows, total = parse_params_table(piped)
        assert len(parsed_rows) == rows
        assert sum(n or 0 for _, n, _ in parsed_rows) == total


def _cells(text: str) -> list[list[str]]:
    """The table's rows, split into cells (column widths differ between cut and full)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("─")) + 1
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return [re.split(r"\s{2,}", line.strip()) for line in lines[start:end]]
